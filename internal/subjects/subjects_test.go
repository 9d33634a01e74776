package subjects

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		pattern, filter string
		want            bool
	}{
		{"predictions.>", "predictions.*", true},
		{"predictions.*", "predictions.*", true},
		{"predictions.general", "predictions.*", false},
		{">", "deadletters", true},
		{"deadletters.>", "deadletters", false},
		{"deadletters.>", "deadletters.images", true},
		{"deadletters.*", "deadletters.images", true},
		{"images.>", "images.>", true},
		{"images.*", "images.>", false},
		{"images.a", "images.a.b", false},
		{"a.*.c", "a.b.c", true},
	} {
		require.Equal(t, tc.want, Covers(tc.pattern, tc.filter), "%s covers %s", tc.pattern, tc.filter)
	}
}

func TestCollide(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"images.>", "images.upload", true},
		{"images.>", "images", false},
		{"deadletter.>", "deadletter.images", true},
		{"predictions.*", "predictions.general", true},
		{"predictions.*", "predictions.a.b", false},
		{"a.*", "*.b", true},
		{"a.b", "a.c", false},
	} {
		require.Equal(t, tc.want, Collide(tc.a, tc.b), "%s, %s", tc.a, tc.b)
		require.Equal(t, tc.want, Collide(tc.b, tc.a), "%s, %s", tc.b, tc.a)
	}
}

func TestWiden(t *testing.T) {
	require.Equal(t, "predictions.>", Widen("predictions.*"))
	require.Equal(t, "deadletters.>", Widen("deadletters.images"))
	require.Equal(t, "deadletters", Widen("deadletters"), "one token stays itself: deadletters.> would not capture it")
	require.Equal(t, "*.results", Widen("*.results"))
	for _, s := range []string{"predictions.*", "deadletters.images", "deadletters", "*.results"} {
		require.True(t, Covers(Widen(s), s), "the stream made for %s captures it", s)
	}
}
