//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

const (
	inputStream      = "IMAGES"
	inputConsumer    = "image-predictor"
	resultsStream    = "PREDICTIONS"
	deadLetterStream = "DEADLETTERS"
)

// connect opens the test's own client. It reconnects forever, quickly, so
// that it rides out the faults the scenario injects.
func connect(t *testing.T, urls string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(urls,
		nats.Name("integration-test"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(200*time.Millisecond),
		nats.Timeout(2*time.Second),
		// A killed container's connections die without a FIN; find out in
		// seconds, not after the default two-minute ping interval.
		nats.PingInterval(time.Second),
		nats.MaxPingsOutstanding(3),
	)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

func eventIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("ev-%05d", i)
	}
	return ids
}

// eventJSON is a valid event, or, if bad, one without an image, which the
// worker must dead-letter rather than drop or retry.
func eventJSON(id string, bad bool) []byte {
	if bad {
		return fmt.Appendf(nil, `{"schema_version":1,"id":%q,"image":{}}`, id)
	}
	return fmt.Appendf(nil, `{"schema_version":1,"id":%q,"image":{"url":"https://images.example/%s.jpg"}}`, id, id)
}

// publisher feeds events to the input stream in the background.
type publisher struct {
	done      chan struct{}
	err       error
	published atomic.Int64
	retries   atomic.Int64
}

// publish sends each event once, perSecond at most (0 = as fast as it
// can). A failed publish is retried with the same Nats-Msg-Id, so that a
// publish that did land but lost its ack is not stored twice.
func publish(ctx context.Context, js jetstream.JetStream, ids []string, bad map[string]bool, perSecond int) *publisher {
	p := &publisher{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var tick <-chan time.Time
		if perSecond > 0 {
			tk := time.NewTicker(time.Second / time.Duration(perSecond))
			defer tk.Stop()
			tick = tk.C
		}
		for _, id := range ids {
			if tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
					p.err = ctx.Err()
					return
				}
			}
			if err := p.publishOne(ctx, js, id, eventJSON(id, bad[id])); err != nil {
				p.err = err
				return
			}
			p.published.Add(1)
		}
	}()
	return p
}

func (p *publisher) publishOne(ctx context.Context, js jetstream.JetStream, id string, data []byte) error {
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.Publish(actx, "images.test", data, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish %s: %w (last error: %w)", id, ctx.Err(), err)
		}
		p.retries.Add(1)
		retry.Reset(100 * time.Millisecond)
		select {
		case <-retry.C:
		case <-ctx.Done():
		}
	}
}

// storeBacklog stores every event before any worker starts. Publishes
// go out asynchronously, a chunk at a time: the client refuses more than
// its pending limit at once (ErrTooManyStalledMsgs), and a slow disk keeps
// acks pending for longer. A publish that failed is sent again
// synchronously with the same Nats-Msg-Id.
func storeBacklog(ctx context.Context, t *testing.T, js jetstream.JetStream, ids []string) {
	t.Helper()
	const chunk = 1000
	p := &publisher{}
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		acks := make([]jetstream.PubAckFuture, len(part))
		for i, id := range part {
			f, err := js.PublishAsync("images.test", eventJSON(id, false), jetstream.WithMsgID(id))
			require.NoError(t, err, id)
			acks[i] = f
		}
		for i, f := range acks {
			select {
			case <-f.Ok():
				continue
			case <-f.Err():
			case <-ctx.Done():
				t.Fatal("the backlog was not stored:", ctx.Err())
			}
			require.NoError(t, p.publishOne(ctx, js, part[i], eventJSON(part[i], false)))
		}
	}
	require.Equal(t, uint64(len(ids)), streamMsgs(ctx, js, inputStream), "events in the backlog")
}

// waitPublished waits until n events are out, so that a fault lands
// mid-stream.
func (p *publisher) waitPublished(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return p.published.Load() >= int64(n) || p.finished() },
		2*time.Minute, 50*time.Millisecond)
}

func (p *publisher) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *publisher) wait(t *testing.T) {
	t.Helper()
	require.Eventually(t, p.finished, 5*time.Minute, 100*time.Millisecond)
	require.NoError(t, p.err)
}

// counts is the fate of a scenario's events.
type counts struct {
	Events      int
	Results     int // result messages in the results stream
	DeadLetters int // dead letters in the dead-letter stream
	Lost        int // events with neither
	Duplicates  int // messages beyond the first for one event, over both streams
	Redelivered int // outputs of input messages delivered more than once
	PubRetries  int
	Duration    time.Duration
}

// waitSettled waits until the consumer has nothing pending or unacked and
// the output streams hold at least one message per event.
func waitSettled(ctx context.Context, t *testing.T, js jetstream.JetStream, events int, within time.Duration) {
	t.Helper()
	settled := func(ctx context.Context) bool {
		c, err := js.Consumer(ctx, inputStream, inputConsumer)
		if err != nil {
			return false
		}
		ci, err := c.Info(ctx)
		if err != nil || ci.NumPending > 0 || ci.NumAckPending > 0 {
			return false
		}
		return streamMsgs(ctx, js, resultsStream)+streamMsgs(ctx, js, deadLetterStream) >= uint64(events)
	}
	if !pollUntil(ctx, within, settled) {
		t.Errorf("events not settled within %s", within)
	}
}

func streamMsgs(ctx context.Context, js jetstream.JetStream, name string) uint64 {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// account reads both output streams from the start and matches their
// messages to the published events by event id.
func account(ctx context.Context, t *testing.T, js jetstream.JetStream, ids []string, started time.Time) (counts, map[string]int, map[string]int) {
	t.Helper()
	results, redeliveredResults := readOutputs(ctx, t, js, resultsStream)
	dead, redeliveredDead := readOutputs(ctx, t, js, deadLetterStream)
	c := counts{Events: len(ids), Duration: time.Since(started), Redelivered: redeliveredResults + redeliveredDead}
	for _, n := range results {
		c.Results += n
	}
	for _, n := range dead {
		c.DeadLetters += n
	}
	for _, id := range ids {
		switch n := results[id] + dead[id]; {
		case n == 0:
			c.Lost++
		case n > 1:
			c.Duplicates += n - 1
		}
	}
	return c, results, dead
}

// readOutputs counts a stream's messages per event_id, and those that
// answer a redelivered input message.
func readOutputs(ctx context.Context, t *testing.T, js jetstream.JetStream, name string) (map[string]int, int) {
	t.Helper()
	got := map[string]int{}
	s, err := js.Stream(ctx, name)
	require.NoError(t, err, name)
	info, err := s.Info(ctx)
	require.NoError(t, err, name)
	if info.State.Msgs == 0 {
		return got, 0
	}
	redelivered := 0
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err, name)
	var seq uint64
	for seq < info.State.LastSeq {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		require.NoError(t, err, name)
		n := 0
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			require.NoError(t, err)
			seq = md.Sequence.Stream
			var m struct {
				EventID string `json:"event_id"`
				Source  struct {
					Deliveries uint64 `json:"deliveries"`
				} `json:"source"`
			}
			require.NoError(t, json.Unmarshal(msg.Data(), &m), "%s seq %d", name, seq)
			got[m.EventID]++
			if m.Source.Deliveries > 1 {
				redelivered++
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			require.NoError(t, err, name)
		}
		require.Positive(t, n, "%s: no messages after seq %d of %d", name, seq, info.State.LastSeq)
	}
	return got, redelivered
}

// requireExactlyOnce checks the scenario's guarantee and records its row
// for the report.
func requireExactlyOnce(t *testing.T, c counts) {
	t.Helper()
	t.Logf("%s: events=%d results=%d dead_letters=%d lost=%d duplicates=%d redelivered=%d publish_retries=%d duration=%s",
		t.Name(), c.Events, c.Results, c.DeadLetters, c.Lost, c.Duplicates, c.Redelivered, c.PubRetries, c.Duration.Round(100*time.Millisecond))
	suite.reportRows = append(suite.reportRows, reportRow{name: t.Name(), counts: c})
	require.Zero(t, c.Lost, "lost events")
	require.Zero(t, c.Duplicates, "duplicate outputs")
	require.Equal(t, c.Events, c.Results+c.DeadLetters, "one output per event")
}

type reportRow struct {
	name string
	counts
}

func printReport(w io.Writer, rows []reportRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "| scenario | events | results | dead letters | lost | duplicates | redelivered | duration |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %s |\n", r.name, r.Events, r.Results, r.DeadLetters,
			r.Lost, r.Duplicates, r.Redelivered, r.Duration.Round(100*time.Millisecond))
	}
}
