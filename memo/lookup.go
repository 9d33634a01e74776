package memo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// maxKeys is the most keys one direct get asks for; a longer list
	// takes one request per maxKeys.
	maxKeys = 128
	// pageBytes is about the most value bytes the server sends for one
	// request; it sends the rest when asked again. It keeps each
	// response well under a subscription's pending limit.
	pageBytes = 4 << 20
)

// Done reports for each key whether MarkDone stored it, and it has not
// expired or been deleted since. All are false when the records are off
// or unavailable, or ctx ends.
func (m *Memo) Done(ctx context.Context, keys []string) []bool {
	found := make([]bool, len(keys))
	hits := 0
	m.lookup(ctx, m.done, keys, func(i int, _ []byte) {
		found[i] = true
		hits++
	})
	m.met.skips.Add(float64(hits))
	return found
}

// Cached returns for each key the value Remember stored, nil when there
// is none (or it expired or was deleted), the cache is off or
// unavailable, or ctx ends.
func (m *Memo) Cached(ctx context.Context, keys []string) [][]byte {
	values := make([][]byte, len(keys))
	if m.cache == nil {
		return values
	}
	hits := 0
	m.lookup(ctx, m.cache, keys, func(i int, v []byte) {
		if v == nil {
			v = []byte{} // found, though empty
		}
		values[i] = v
		hits++
	})
	m.met.hits.Add(float64(hits))
	m.met.misses.Add(float64(len(keys) - hits))
	return values
}

// lookup calls found with the index and value of every key that b holds,
// in as few requests as it can. A failure other than ctx ending marks b
// unavailable; the keys not yet found then count as missing.
func (m *Memo) lookup(ctx context.Context, b *bucket, keys []string, found func(i int, value []byte)) {
	h := m.usable(b)
	if h == nil || len(keys) == 0 {
		return
	}
	bounded, cancel := context.WithTimeout(ctx, m.cfg.LookupTimeout)
	defer cancel()
	idx := indexKeys(keys)
	got := func(key string, value []byte) {
		for i := idx.first[key]; i >= 0; i = idx.next[i] {
			found(i, value)
		}
	}
	get := m.getter(h)
	for chunk := range slices.Chunk(idx.unique, maxKeys) {
		if err := get(bounded, b, chunk, got); err != nil {
			if ctx.Err() == nil {
				m.down(b, err)
			}
			return
		}
	}
}

// getter is how keys are read from the bucket h: many per request when
// it allows direct gets, else one by one.
func (m *Memo) getter(h *handle) func(ctx context.Context, b *bucket, keys []string, got func(key string, value []byte)) error {
	if h.direct {
		return m.multiGet
	}
	return h.serialGet
}

// keyIndex maps each distinct valid key to the indices it has in the
// caller's list: first[key], then next[i] until -1.
type keyIndex struct {
	first  map[string]int
	next   []int
	unique []string
}

func indexKeys(keys []string) keyIndex {
	idx := keyIndex{first: make(map[string]int, len(keys)), next: make([]int, len(keys))}
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		if !isKey(k) {
			continue // never stored: it would not be a valid subject
		}
		prev, seen := idx.first[k]
		if !seen {
			prev = -1
			idx.unique = append(idx.unique, k)
		}
		idx.next[i] = prev
		idx.first[k] = i
	}
	return idx
}

// isKey reports whether k is a key DoneKey or CacheKey could return.
func isKey(k string) bool {
	if len(k) != 2*keyBytes {
		return false
	}
	for i := range len(k) {
		if c := k[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// multiGet asks for the last entry of every key in one batched direct
// get: the server answers with one message per key it holds, in stream
// order, then an end-of-batch status (204), or only 404 when it holds
// none. A response cut short by pageBytes is continued from the last
// sequence sent, up to the same last sequence, so the pages are one
// snapshot.
func (m *Memo) multiGet(ctx context.Context, b *bucket, keys []string, got func(key string, value []byte)) error {
	// One page is at most a message per key and a status, and the next
	// page is asked for only once this one is read: the channel never
	// fills. (SubscribeSync would allocate a channel of 64k entries.)
	replies := make(chan *nats.Msg, len(keys)+1)
	inbox := m.nc.NewInbox()
	sub, err := m.nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return fmt.Errorf("direct get: %w", err)
	}
	defer sub.Unsubscribe()
	var from, upTo uint64
	for {
		if err := m.nc.PublishRequest(b.getSubj, inbox, multiRequest(b.keyPrefix, keys, from, upTo)); err != nil {
			return fmt.Errorf("direct get: %w", err)
		}
		more, err := readPage(ctx, replies, b.keyPrefix, got)
		if err != nil || more == nil {
			return err
		}
		from, upTo = more.from, more.upTo
	}
}

// multiRequest is the direct-get body. Keys and prefix need no JSON
// escaping: keys are hex (isKey) and bucket names are validated.
func multiRequest(prefix string, keys []string, from, upTo uint64) []byte {
	b := make([]byte, 0, 96+len(keys)*(len(prefix)+2*keyBytes+3))
	b = append(b, `{"multi_last":[`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, prefix...)
		b = append(b, k...)
		b = append(b, '"')
	}
	b = append(b, `],"batch":`...)
	b = strconv.AppendInt(b, int64(len(keys)), 10)
	b = append(b, `,"max_bytes":`...)
	b = strconv.AppendInt(b, pageBytes, 10)
	if from > 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, from, 10)
		b = append(b, `,"up_to_seq":`...)
		b = strconv.AppendUint(b, upTo, 10)
	}
	return append(b, '}')
}

// nextPage says where the next request of a cut-short response starts.
type nextPage struct{ from, upTo uint64 }

// readPage reads one response to a multi get; more is nil when it was
// the last.
func readPage(ctx context.Context, replies <-chan *nats.Msg, prefix string, got func(key string, value []byte)) (more *nextPage, err error) {
	for {
		var msg *nats.Msg
		select {
		case msg = <-replies:
		case <-ctx.Done():
			return nil, fmt.Errorf("direct get: %w", ctx.Err())
		}
		if status := msg.Header.Get("Status"); status != "" && len(msg.Data) == 0 {
			return endOfPage(msg, status)
		}
		if deleted(msg.Header) {
			continue
		}
		if key, ok := strings.CutPrefix(msg.Header.Get(jetstream.SubjectHeader), prefix); ok {
			got(key, msg.Data)
		}
	}
}

var errNoDirectGet = errors.New("no server answers direct gets for the bucket (deleted, or direct gets turned off)")

func endOfPage(msg *nats.Msg, status string) (*nextPage, error) {
	switch status {
	case "404": // none of the keys, or the rest failed to load: all miss
		return nil, nil
	case "503":
		return nil, errNoDirectGet
	case "204":
		if p := msg.Header.Get("Nats-Num-Pending"); p == "" || p == "0" {
			return nil, nil
		}
		last, err1 := strconv.ParseUint(msg.Header.Get("Nats-Last-Sequence"), 10, 64)
		upTo, err2 := strconv.ParseUint(msg.Header.Get("Nats-UpTo-Sequence"), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("direct get: end of batch: %w", err)
		}
		return &nextPage{from: last + 1, upTo: upTo}, nil
	default:
		return nil, fmt.Errorf("direct get: status %s %s", status, msg.Header.Get("Description"))
	}
}

// deleted reports a KV delete or purge marker: the key is absent.
func deleted(h nats.Header) bool {
	op := h.Get("KV-Operation")
	return op == "DEL" || op == "PURGE"
}

// serialGet looks keys up one by one, for a bucket that does not allow
// direct gets.
func (h *handle) serialGet(ctx context.Context, b *bucket, keys []string, got func(key string, value []byte)) error {
	for _, k := range keys {
		msg, err := h.stream.GetLastMsgForSubject(ctx, b.keyPrefix+k)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return fmt.Errorf("get: %w", err)
		case !deleted(msg.Header):
			got(k, msg.Data)
		}
	}
	return nil
}
