package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/schemas"
)

func newPublisher(t *testing.T, url string, cfg Config) (*Publisher, jetstream.JetStream) {
	t.Helper()
	nc, js := natstest.Connect(t, url)
	p, err := New(nc, cfg, zerolog.Nop())
	require.NoError(t, err)
	return p, js
}

// stored waits for f's PubAck.
func stored(t *testing.T, f jetstream.PubAckFuture, err error) *jetstream.PubAck {
	t.Helper()
	require.NoError(t, err)
	select {
	case ack := <-f.Ok():
		return ack
	case err := <-f.Err():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no PubAck")
	}
	return nil
}

func result(id string, masks ...[]byte) *schemas.Result {
	r := &schemas.Result{SchemaVersion: schemas.Version, EventID: id, Model: schemas.Model{ID: "ran"},
		Concepts: []schemas.Concept{}, Regions: []schemas.Region{}}
	for _, m := range masks {
		r.Regions = append(r.Regions, schemas.Region{Mask: &schemas.Mask{PNG: m}})
	}
	return r
}

func TestResultGoesToTheAskedModelsSubjectOnce(t *testing.T) {
	srv := natstest.Start(t)
	p, js := newPublisher(t, srv.ClientURL(), DefaultConfig())
	require.NoError(t, p.Setup(t.Context()))

	asked := schemas.Model{ID: "general.image v2", UserID: "clarifai", AppID: "main"}
	r := result("evt-1")
	r.Model.ID = "a1b2c3" // the id the response gave: not the one asked
	for range 2 {         // a redelivered event publishes again
		f, err := p.Result(t.Context(), r, asked)
		require.Equal(t, "PREDICTIONS", stored(t, f, err).Stream)
	}
	s, err := js.Stream(t.Context(), "PREDICTIONS")
	require.NoError(t, err)
	msg, err := s.GetLastMsgForSubject(t.Context(), "predictions.general_image_v2")
	require.NoError(t, err)
	require.Equal(t, resultMsgID("evt-1", asked), msg.Header.Get("Nats-Msg-Id"))
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the second publish was a duplicate")
}

func TestMsgIDs(t *testing.T) {
	m := schemas.Model{ID: "m", UserID: "u", AppID: "a"}
	require.Equal(t, resultMsgID("e", m), resultMsgID("e", m), "stable across redeliveries")
	require.NotEqual(t, resultMsgID("e", m), resultMsgID("e2", m))
	other := m
	other.VersionID = "v2"
	require.NotEqual(t, resultMsgID("e", m), resultMsgID("e", other), "another version is another result")
	// Field boundaries matter: ("ab","c") is not ("a","bc"), whatever bytes the id holds.
	require.NotEqual(t, resultMsgID("ab", schemas.Model{ID: "c"}), resultMsgID("a", schemas.Model{ID: "bc"}))
	require.NotEqual(t, resultMsgID("a\x00", schemas.Model{ID: "c"}), resultMsgID("a", schemas.Model{UserID: "c"}))
	require.Equal(t, "d-IMAGES-42", deadLetterMsgID(&schemas.DeadLetter{Source: schemas.Source{Stream: "IMAGES", Sequence: 42}}))
}

func TestConfigValidate(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.ResultsSubject = "predictions.>" },
		func(c *Config) { c.DeadLetterSubject = "dead.*" },
		func(c *Config) { c.DeadLetterSubject = "dead..letters" },
		func(c *Config) { c.MaskInlineMax = -1 },
		func(c *Config) { c.MaskBucket = "masks.v1" },
		func(c *Config) { c.DuplicateWindow = 0 },
	} {
		c := DefaultConfig()
		mutate(&c)
		require.ErrorIs(t, c.Validate(), ErrInvalidConfig, "%+v", c)
	}
	require.NoError(t, DefaultConfig().Validate())
}

// TestOutputStreamsAreFoundBySubject: streams an operator made under other
// names are used as they are; a configuration that cannot work fails at
// once, naming the setting, instead of retrying for ever.
func TestOutputStreamsAreFoundBySubject(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	for _, s := range []jetstream.StreamConfig{
		{Name: "DEADLETTER", Subjects: []string{"deadletter.>"}},
		{Name: "RESULTS", Subjects: []string{"out.*"}},
		{Name: "PARTIAL", Subjects: []string{"partial.general"}},
	} {
		_, err := js.CreateStream(t.Context(), s)
		require.NoError(t, err)
	}
	cfg := DefaultConfig()
	cfg.DeadLetterSubject = "deadletter.images"
	cfg.ResultsSubject = "out.{model}"
	p, _ := newPublisher(t, srv.ClientURL(), cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, p.Setup(ctx))
	f, err := p.DeadLetter(ctx, &schemas.DeadLetter{SchemaVersion: 1, Original: []byte("x"), Source: schemas.Source{Stream: "IMAGES", Sequence: 1}})
	require.Equal(t, "DEADLETTER", stored(t, f, err).Stream)
	f, err = p.Result(ctx, result("e"), schemas.Model{ID: "m"})
	require.Equal(t, "RESULTS", stored(t, f, err).Stream)
	names := js.StreamNames(ctx)
	var all []string
	for n := range names.Name() {
		all = append(all, n)
	}
	require.ElementsMatch(t, []string{"DEADLETTER", "RESULTS", "PARTIAL"}, all, "no stream was created")

	for _, tc := range []struct {
		mutate  func(*Config)
		setting string
	}{
		{func(c *Config) { c.ResultsSubject = "partial.{model}" }, "WORKER_RESULTS_SUBJECT"},
		{func(c *Config) { c.DeadLetterSubject = "nowhere.dead"; c.CreateStreams = false }, "WORKER_DEADLETTER_SUBJECT"},
		{func(c *Config) { c.DeadLetterSubject = "deadletter"; c.DeadLetterStream = "DEADLETTER" }, "WORKER_DEADLETTER_SUBJECT"},
	} {
		c := cfg
		tc.mutate(&c)
		p, _ := newPublisher(t, srv.ClientURL(), c)
		err := p.Setup(ctx)
		require.ErrorIs(t, err, ErrInvalidConfig)
		require.ErrorContains(t, err, tc.setting)
	}
}

func TestOneTokenSubjectGetsAStreamThatCapturesIt(t *testing.T) {
	srv := natstest.Start(t)
	cfg := DefaultConfig()
	cfg.DeadLetterSubject = "deadletters"
	p, _ := newPublisher(t, srv.ClientURL(), cfg)
	require.NoError(t, p.Setup(t.Context()))
	f, err := p.DeadLetter(t.Context(), &schemas.DeadLetter{SchemaVersion: 1, Original: []byte("x"), Source: schemas.Source{Stream: "IMAGES", Sequence: 1}})
	require.Equal(t, "DEADLETTERS", stored(t, f, err).Stream)
}

// TestResultFitsTheServersMaxPayload: masks each under the inline limit
// that together exceed max_payload go to the Object Store, largest first,
// until the result fits; a result that cannot fit says so with its reason.
func TestResultFitsTheServersMaxPayload(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 256 << 10 })
	p, js := newPublisher(t, srv.ClientURL(), DefaultConfig())
	require.NoError(t, p.Setup(t.Context()))
	var masks [][]byte
	for i := range 8 {
		masks = append(masks, bytes.Repeat([]byte{byte(i)}, 40<<10+i)) // 8 × 40 KiB, base64: 430 KiB
	}
	r := result("big", masks...)
	f, err := p.Result(t.Context(), r, schemas.Model{ID: "seg"})
	stored(t, f, err)
	var inline, offloaded []int
	for i, rg := range r.Regions {
		if rg.Mask.Object != nil {
			offloaded = append(offloaded, i)
			store, err := js.ObjectStore(t.Context(), rg.Mask.Object.Bucket)
			require.NoError(t, err)
			got, err := store.GetBytes(t.Context(), rg.Mask.Object.Name)
			require.NoError(t, err)
			require.Equal(t, masks[i], got)
		} else {
			inline = append(inline, i)
		}
	}
	require.NotEmpty(t, inline)
	for _, i := range inline {
		for _, j := range offloaded {
			require.Less(t, i, j, "the largest masks go first")
		}
	}
	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.Less(t, len(data), 256<<10)

	huge := result("huge")
	huge.Metadata = json.RawMessage(`{"pad":"` + string(bytes.Repeat([]byte{'x'}, 300<<10)) + `"}`)
	_, err = p.Result(t.Context(), huge, schemas.Model{ID: "seg"})
	var tooLarge *TooLargeError
	require.True(t, errors.As(err, &tooLarge), "%v", err)
	require.Equal(t, schemas.ReasonResultTooLarge, tooLarge.Reason())
}

// TestDeletedOutputStreamIsFoundAgain: a results stream deleted under a
// running worker is created again on the next publish.
func TestDeletedOutputStreamIsFoundAgain(t *testing.T) {
	srv := natstest.Start(t)
	p, js := newPublisher(t, srv.ClientURL(), DefaultConfig())
	require.NoError(t, p.Setup(t.Context()))
	require.NoError(t, js.DeleteStream(t.Context(), "PREDICTIONS"))
	require.Eventually(t, func() bool {
		f, err := p.Result(t.Context(), result("again"), schemas.Model{ID: "m"})
		if err != nil {
			return false
		}
		select {
		case <-f.Ok():
			return true
		case <-f.Err():
			return false
		}
	}, 10*time.Second, 50*time.Millisecond)
}

// TestBucketsMustExistWhenNothingMayBeCreated: with WORKER_CREATE_STREAMS
// false, a missing mask bucket fails at start, naming the setting, rather
// than a result with a large mask failing to store for ever.
func TestBucketsMustExistWhenNothingMayBeCreated(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	createStream := func(name, subject string) {
		_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: name, Subjects: []string{subject}})
		require.NoError(t, err)
	}
	createStream("PREDICTIONS", "predictions.>")
	createStream("DEADLETTERS", "deadletters.>")
	cfg := DefaultConfig()
	cfg.CreateStreams = false
	p, _ := newPublisher(t, srv.ClientURL(), cfg)
	err := p.Setup(t.Context())
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "WORKER_MASK_BUCKET")

	for _, b := range []string{"masks", "deadletters"} {
		_, err := js.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: b})
		require.NoError(t, err)
	}
	require.NoError(t, p.Setup(t.Context()))
}
