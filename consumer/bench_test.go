package consumer

import (
	"fmt"
	"testing"
	"time"
)

// benchItems are n items spread over groups keys, arrived in order.
func benchItems(n, groups int) []*task {
	start := time.Now()
	its := make([]*task, n)
	for i := range its {
		its[i] = &task{key: fmt.Sprintf("model-%d", i%groups), m: &message{arrived: start.Add(time.Duration(i) * time.Microsecond)}}
	}
	return its
}

// BenchmarkBatchAssemble is the batch loop's work under backlog: every
// pulled item is added, and each full batch is found and taken.
func BenchmarkBatchAssemble(b *testing.B) {
	for _, groups := range []int{1, 4} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			its := benchItems(1280, groups)
			now := its[len(its)-1].m.arrived
			b.ReportAllocs()
			for b.Loop() {
				p := newPending(128, 100*time.Millisecond)
				taken := 0
				for _, it := range its {
					p.add(it)
					if key, _ := p.due(now); key != "" {
						taken += len(p.take(key))
					}
				}
				for key, _ := p.due(now.Add(time.Second)); key != ""; key, _ = p.due(now.Add(time.Second)) {
					taken += len(p.take(key))
				}
				if taken != len(its) {
					b.Fatalf("took %d of %d items", taken, len(its))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(its)), "ns/item")
		})
	}
}

// BenchmarkBatchDueLightLoad is the batch loop asking, with few items
// pending in many groups, whether a batch is due.
func BenchmarkBatchDueLightLoad(b *testing.B) {
	p := newPending(128, 100*time.Millisecond)
	its := benchItems(16, 16)
	for _, it := range its {
		p.add(it)
	}
	now := its[0].m.arrived
	b.ReportAllocs()
	for b.Loop() {
		if key, _ := p.due(now); key != "" {
			b.Fatal("nothing should be due yet")
		}
	}
}
