package memo

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/internal/natstest"
)

// doneValue is what the worker records: where the output is stored.
var doneValue = []byte("PREDICTIONS:1234567")

// perKey reports the figures of the last loop per key, allocations
// counted over the whole process (the server is in it).
func perKey(b *testing.B, keysPerOp int, mallocs uint64) {
	n := float64(b.N * keysPerOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/key")
	b.ReportMetric(float64(mallocs)/n, "allocs/key")
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkDoneLookup128 is the idempotency lookup of one full batch of
// 128 events in one batched direct get, with none or half of them
// recorded; the ceiling is the same keys read with 128 sequential
// kv.Get calls, in the same run against the same server.
func BenchmarkDoneLookup128(b *testing.B) {
	srv := natstest.Start(b)
	cfg := quietConfig()
	cfg.CacheTTL = 0
	m := startMemo(b, srv.ClientURL(), cfg)
	keys := doneKeys(128, "event")
	marked(b, m, keys[:64]...)
	fresh := doneKeys(128, "new")
	_, js := natstest.Connect(b, srv.ClientURL())
	kv, err := js.KeyValue(b.Context(), cfg.DoneBucket)
	if err != nil {
		b.Fatal(err)
	}

	for _, c := range []struct {
		name  string
		keys  []string
		found int
	}{{"multi/found=0", fresh, 0}, {"multi/found=64", keys, 64}} {
		b.Run(c.name, func(b *testing.B) {
			before := mallocs()
			for b.Loop() {
				found := m.Done(b.Context(), c.keys)
				if c.found > 0 && (!found[0] || found[127]) {
					b.Fatalf("found %v", found)
				}
			}
			perKey(b, len(keys), mallocs()-before)
		})
	}
	b.Run("kv.Get/found=64", func(b *testing.B) {
		before := mallocs()
		for b.Loop() {
			for i, k := range keys {
				if _, err := kv.Get(b.Context(), k); (err == nil) != (i < 64) {
					b.Fatalf("key %d: %v", i, err)
				}
			}
		}
		perKey(b, len(keys), mallocs()-before)
	})
}

// writeWindow is how many writes the benchmark has in flight, as a
// worker has (its results in flight bound its records in flight).
const writeWindow = 1024

// BenchmarkMarkDone is the record written per event: publishes without a
// PubAck, all stored before the clock stops (the last one found by a
// lookup); the ceiling is kv.Put, which waits for each PubAck. Each case has its own server, so
// the async case also reports what b.N records cost the server: bytes
// on disk (message blocks and indexes) and heap after a GC, per record.
func BenchmarkMarkDone(b *testing.B) {
	b.Run("async", func(b *testing.B) {
		srv := natstest.Start(b)
		cfg := quietConfig()
		cfg.CacheTTL = 0
		m := startMemo(b, srv.ClientURL(), cfg)
		keys := doneKeys(b.N, "event")
		runtime.GC()
		var heap runtime.MemStats
		runtime.ReadMemStats(&heap)
		before := mallocs()
		b.ResetTimer()
		for _, k := range keys {
			if !m.MarkDone(k, doneValue) {
				b.Fatal("record not sent")
			}
		}
		marked(b, m, keys[len(keys)-1]) // a stream stores in order: the last found, all are
		b.StopTimer()
		perKey(b, 1, mallocs()-before)
		recordCost(b, srv, heap.HeapAlloc, len(keys))
	})
	b.Run("kv.Put", func(b *testing.B) {
		srv := natstest.Start(b)
		_, js := natstest.Connect(b, srv.ClientURL())
		kv, err := js.CreateKeyValue(b.Context(), jetstream.KeyValueConfig{Bucket: DefaultConfig().DoneBucket, TTL: DefaultConfig().IdempotencyTTL})
		if err != nil {
			b.Fatal(err)
		}
		keys := doneKeys(b.N, "event")
		before := mallocs()
		b.ResetTimer()
		for _, k := range keys {
			if _, err := kv.Put(b.Context(), k, doneValue); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		perKey(b, 1, mallocs()-before)
	})
}

// recordCost reports disk and heap bytes per record; the heap counted
// before was taken with the keys already made.
func recordCost(b *testing.B, srv *natstest.Server, heapBefore uint64, records int) {
	runtime.GC()
	var heap runtime.MemStats
	runtime.ReadMemStats(&heap)
	var disk int64
	err := filepath.WalkDir(srv.StoreDir(), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			disk += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(disk)/float64(records), "disk-B/key")
	b.ReportMetric((float64(heap.HeapAlloc)-float64(heapBefore))/float64(records), "heap-B/key")
}

// BenchmarkKeys is the hashing each event costs: its idempotency key,
// and the cache key of a 100 KB image.
func BenchmarkKeys(b *testing.B) {
	b.Run("DoneKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doneKey("3f8a9c1e-2b7d-4c4e-9a51-0d6f2e8b7a10", testModel)
		}
	})
	b.Run("CacheKey/100KB", func(b *testing.B) {
		m, err := New(&nats.Conn{}, DefaultConfig(), zerolog.Nop(), nil) // New does no I/O
		if err != nil {
			b.Fatal(err)
		}
		image := make([]byte, 100<<10)
		b.SetBytes(int64(len(image)))
		b.ReportAllocs()
		for b.Loop() {
			m.CacheKey(image, "", testModel, nil)
		}
	})
}
