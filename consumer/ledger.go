package consumer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// ledger owns what the worker holds. It admits pulled messages into
// slots and the byte budget, keeps them alive while they wait, and
// settles each exactly once: the only place that acks, terms or naks.
type ledger struct {
	slots   slots
	bytes   *budget
	ackWait time.Duration
	log     zerolog.Logger
	metrics *metrics

	mu    sync.Mutex
	held  map[*message]struct{}
	empty chan struct{} // closed while nothing is held
}

func newLedger(cfg *Config, log zerolog.Logger, m *metrics) *ledger {
	l := &ledger{
		slots:   newSlots(cfg.maxPending()),
		bytes:   newBudget(cfg.MaxPendingBytes),
		ackWait: cfg.AckWait,
		log:     log,
		metrics: m,
		held:    make(map[*message]struct{}),
		empty:   make(chan struct{}),
	}
	close(l.empty)
	return l
}

// admit records a pulled message in a slot the fetch loop reserved.
func (l *ledger) admit(msg jetstream.Msg, meta *jetstream.MsgMetadata) *message {
	m := &message{msg: msg, meta: meta, arrived: time.Now(), bytes: int64(len(msg.Data()) + len(msg.Subject()))}
	l.bytes.add(m.bytes)
	l.mu.Lock()
	if len(l.held) == 0 {
		l.empty = make(chan struct{})
	}
	l.held[m] = struct{}{}
	l.mu.Unlock()
	return m
}

// errOverBudget: the bytes asked for can never fit the budget.
var errOverBudget = errors.New("larger than WORKER_MAX_PENDING_BYTES")

// grow adds n bytes (an image read from the Object Store) to what m
// holds, waiting until they fit.
func (l *ledger) grow(ctx context.Context, m *message, n int64) error {
	if m.bytes+n > l.bytes.max {
		return errOverBudget
	}
	if err := l.bytes.acquire(ctx, n); err != nil {
		return err
	}
	m.mu.Lock()
	m.bytes += n
	m.mu.Unlock()
	return nil
}

// shrink gives back n of the bytes m holds (pixels once decoded).
func (l *ledger) shrink(m *message, n int64) {
	m.mu.Lock()
	m.bytes -= n
	m.mu.Unlock()
	l.bytes.release(n)
}

// settlement is how a message leaves the worker.
type settlement struct {
	kind   settleKind
	delay  time.Duration // nakLater
	reason string        // term
}

type settleKind int

const (
	ackIt    settleKind = iota + 1 // every output stored
	termIt                         // every output is a dead letter
	nakLater                       // redeliver after delay
	nakNow                         // hand back at once, to any replica
)

// settle tells the server m's fate and releases what m held. Only the
// first call for a message does anything.
func (l *ledger) settle(m *message, s settlement) {
	if m.settled.Swap(true) {
		return
	}
	var err error
	switch s.kind {
	case ackIt:
		err = m.msg.Ack()
	case termIt:
		err = m.msg.TermWithReason(s.reason)
	case nakLater:
		err = m.msg.NakWithDelay(s.delay)
		l.metrics.redeliveries.WithLabelValues("transient").Inc()
	case nakNow:
		err = m.msg.Nak()
		l.metrics.redeliveries.WithLabelValues("shutdown").Inc()
	}
	if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		// The server redelivers after AckWait; outputs are deduplicated.
		l.log.Warn().Err(err).Stringer("msg", m).Msg("settle")
	}
	l.metrics.latency.Observe(time.Since(m.arrived).Seconds())
	l.mu.Lock()
	delete(l.held, m)
	if len(l.held) == 0 {
		close(l.empty)
	}
	l.mu.Unlock()
	m.mu.Lock()
	n := m.bytes
	m.mu.Unlock()
	l.bytes.release(n)
	l.slots.release(1)
}

// count is how many messages are held.
func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}

// drained is closed while nothing is held.
func (l *ledger) drained() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.empty
}

// older returns the held messages that arrived before t.
func (l *ledger) older(t time.Time) []*message {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*message
	for m := range l.held {
		if m.arrived.Before(t) {
			out = append(out, m)
		}
	}
	return out
}

// keepAlive sends InProgress for every message held longer than a third
// of AckWait, every third of AckWait, until ctx ends. A short AckWait
// then still lets a crashed replica's messages come back within seconds,
// and a message held for as long as its output takes to store is never
// redelivered meanwhile.
func (l *ledger) keepAlive(ctx context.Context) {
	every := l.ackWait / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, m := range l.older(now.Add(-every)) {
				if err := m.msg.InProgress(); err != nil {
					l.log.Debug().Err(err).Stringer("msg", m).Msg("in progress")
				}
			}
		}
	}
}

// slots bounds the messages held at once: the fetch loop pulls only as
// many messages as there are free slots, so memory and ack deadlines stay
// bounded however large the backlog is.
type slots chan struct{}

func newSlots(n int) slots {
	s := make(slots, n)
	for range n {
		s <- struct{}{}
	}
	return s
}

// reserve waits for one free slot, then takes up to max-1 more that are
// free right now.
func (s slots) reserve(ctx context.Context, max int) (int, error) {
	select {
	case <-s:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n := 1
	for n < max {
		select {
		case <-s:
			n++
		default:
			return n, nil
		}
	}
	return n, nil
}

func (s slots) release(n int) {
	for range n {
		s <- struct{}{}
	}
}
