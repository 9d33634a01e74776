package publisher

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/schemas"
)

func TestResultGoesToItsModelsSubjectOnce(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}, Duplicates: time.Minute})
	require.NoError(t, err)
	p, err := New(js, Config{}, zerolog.Nop())
	require.NoError(t, err)

	model := schemas.Model{ID: "general.image v2", UserID: "clarifai", AppID: "main"}
	r := &schemas.Result{SchemaVersion: schemas.Version, EventID: "evt-1", Model: model,
		Concepts: []schemas.Concept{}, Regions: []schemas.Region{}}
	id := ResultMsgID("evt-1", model)
	for range 2 { // a redelivered event publishes again
		f, err := p.Result(t.Context(), r, id)
		require.NoError(t, err)
		select {
		case ack := <-f.Ok():
			require.Equal(t, "PREDICTIONS", ack.Stream)
		case err := <-f.Err():
			t.Fatal(err)
		}
	}
	s, err := js.Stream(t.Context(), "PREDICTIONS")
	require.NoError(t, err)
	msg, err := s.GetLastMsgForSubject(t.Context(), "predictions.general_image_v2")
	require.NoError(t, err)
	require.Equal(t, id, msg.Header.Get("Nats-Msg-Id"))
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the second publish was a duplicate")
}

func TestMsgIDs(t *testing.T) {
	m := schemas.Model{ID: "m", UserID: "u", AppID: "a"}
	require.Equal(t, ResultMsgID("e", m), ResultMsgID("e", m), "stable across redeliveries")
	require.NotEqual(t, ResultMsgID("e", m), ResultMsgID("e2", m))
	other := m
	other.VersionID = "v2"
	require.NotEqual(t, ResultMsgID("e", m), ResultMsgID("e", other), "another version is another result")
	// Field boundaries matter: ("ab","c") is not ("a","bc").
	require.NotEqual(t, ResultMsgID("ab", schemas.Model{ID: "c"}), ResultMsgID("a", schemas.Model{ID: "bc"}))
	require.Equal(t, "d-IMAGES-42", DeadLetterMsgID(schemas.Source{Stream: "IMAGES", Sequence: 42}))
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{ResultsSubject: "predictions.>", DeadLetterSubject: "d"},
		{ResultsSubject: "p.{model}", DeadLetterSubject: "dead.*"},
		{ResultsSubject: "p", DeadLetterSubject: "d", MaskInlineMax: -1},
	} {
		require.ErrorIs(t, c.Validate(), ErrInvalidConfig, "%+v", c)
	}
	c := Config{}
	c.SetDefaults()
	require.NoError(t, c.Validate())
}
