package consumer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPendingDue(t *testing.T) {
	now := time.Now()
	at := func(key string, age time.Duration) *task { return &task{key: key, m: &message{arrived: now.Add(-age)}} }
	p := newPending(3, 100*time.Millisecond)

	key, next := p.due(now)
	require.Empty(t, key)
	require.Negative(t, next, "nothing pending, nothing to wait for")

	p.add(at("a", 30*time.Millisecond))
	p.add(at("b", 10*time.Millisecond))
	key, next = p.due(now)
	require.Empty(t, key)
	require.Equal(t, 70*time.Millisecond, next, "the oldest item decides the wait")

	p.add(at("b", 5*time.Millisecond))
	p.add(at("b", 0))
	key, _ = p.due(now)
	require.Equal(t, "b", key, "a full group goes out before the wait")
	require.Len(t, p.take("b"), 3)

	key, _ = p.due(now.Add(80 * time.Millisecond))
	require.Equal(t, "a", key, "the oldest item's wait is over")
	require.Len(t, p.take("a"), 1)
	require.Zero(t, p.count)
}

func TestPendingTakesAtMostABatchOldestFirst(t *testing.T) {
	p := newPending(2, time.Hour)
	items := []*task{{key: "k", m: &message{}}, {key: "k", m: &message{}}, {key: "k", m: &message{}}}
	for _, it := range items {
		p.add(it)
	}
	first := p.take("k")
	require.Equal(t, items[:2], first)
	require.Equal(t, 1, p.count)
	require.Equal(t, items[2:], p.drain())
	require.Zero(t, p.count)
}
