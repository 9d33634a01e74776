package memo

import (
	"regexp"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/schemas"
)

var keyShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Keys need no server: New does no I/O, so a connection never opened
// will do.

func TestDoneKeysAreHexAndDistinct(t *testing.T) {
	m := schemas.Model{ID: "m"}
	inputs := []struct {
		id    string
		model schemas.Model
	}{
		{"a.b", m}, {"a*b", m}, {"a>", m}, {"a b", m}, {"a\x00b", m}, {"\xff\xfe", m}, {"", m},
		{"ab", schemas.Model{ID: "c"}}, {"a", schemas.Model{ID: "bc"}}, // event id | model id
		{"e", schemas.Model{UserID: "ab"}}, {"e", schemas.Model{UserID: "a", AppID: "b"}}, {"e", schemas.Model{AppID: "ab"}},
		{"e", schemas.Model{ID: "x"}}, {"e", schemas.Model{VersionID: "x"}},
		{"e", schemas.Model{ID: "x", VersionID: "1"}}, {"e", schemas.Model{ID: "x1"}},
		{"\x00", schemas.Model{}}, {"", schemas.Model{UserID: "\x00"}},
	}
	seen := map[string]int{}
	for i, in := range inputs {
		k := doneKey(in.id, in.model)
		assert.Regexp(t, keyShape, k, "input %d", i)
		if j, dup := seen[k]; dup {
			t.Errorf("inputs %d and %d share key %s", j, i, k)
		}
		seen[k] = i
		assert.Equal(t, k, doneKey(in.id, in.model), "the same input gives the same key")
	}
}

func TestCacheKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CacheURLs = true
	m, err := New(&nats.Conn{}, cfg, zerolog.Nop(), nil)
	require.NoError(t, err)
	model := schemas.Model{ID: "m"}
	key := func(image string, url string, asked schemas.Model, oc *schemas.OutputConfig) string {
		t.Helper()
		k, ok := m.CacheKey([]byte(image), url, asked, oc)
		require.True(t, ok)
		assert.Regexp(t, keyShape, k)
		return k
	}
	assert.Equal(t, key("img", "", model, nil), key("img", "", model, &schemas.OutputConfig{}),
		"no output config asks for the model's own settings, as an empty one does")
	distinct := []string{
		key("img", "", model, nil),
		key("img2", "", model, nil),
		key("", "img", model, nil), // the URL "img" is not the bytes "img"
		key("img", "", schemas.Model{ID: "m", VersionID: "1"}, nil),
		key("img", "", schemas.Model{ID: "m1"}, nil),
		key("img", "", model, &schemas.OutputConfig{MaxConcepts: 5}),
		key("img", "", model, &schemas.OutputConfig{MinValue: 0.5}),
		key("img", "", model, &schemas.OutputConfig{SelectConcepts: []schemas.ConceptRef{{ID: "a"}, {ID: "b"}}}),
		key("img", "", model, &schemas.OutputConfig{SelectConcepts: []schemas.ConceptRef{{ID: "ab"}}}),
		key("img", "", model, &schemas.OutputConfig{SelectConcepts: []schemas.ConceptRef{{ID: "b"}, {ID: "a"}}}),
		key("img", "", model, &schemas.OutputConfig{SelectConcepts: []schemas.ConceptRef{{ID: "a"}, {Name: "b"}}}),
		key("\x00", "", model, nil),
		key("", "", model, nil),
	}
	seen := map[string]int{}
	for i, k := range distinct {
		if j, dup := seen[k]; dup {
			t.Errorf("inputs %d and %d share key %s", j, i, k)
		}
		seen[k] = i
	}
	assert.NotContains(t, seen, doneKey("img", model), "a cache key is not an idempotency key")
}

func TestURLImagesAreCachedOnlyWhenAsked(t *testing.T) {
	m, err := New(&nats.Conn{}, DefaultConfig(), zerolog.Nop(), nil)
	require.NoError(t, err)
	_, ok := m.CacheKey(nil, "https://example.com/a.jpg", schemas.Model{ID: "m"}, nil)
	assert.False(t, ok)

	cfg := DefaultConfig()
	cfg.CacheURLs = true
	m, err = New(&nats.Conn{}, cfg, zerolog.Nop(), nil)
	require.NoError(t, err)
	k, ok := m.CacheKey(nil, "https://example.com/a.jpg", schemas.Model{ID: "m"}, nil)
	assert.True(t, ok)
	assert.Regexp(t, keyShape, k)
}
