package schemas

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecodeEvent feeds arbitrary messages to DecodeEvent: it must never
// panic, must reject with a known reason, and what it accepts must keep
// the event invariants and survive a round trip.
func FuzzDecodeEvent(f *testing.F) {
	for _, c := range loadCorpus(f) {
		// The hostile events of hundreds of kilobytes would spend the
		// fuzzing time minimising their mutants; the corpus test runs them.
		if len(c.data) <= 64<<10 {
			f.Add(c.data)
		}
	}
	examples, err := filepath.Glob(filepath.Join("examples", "event-*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range examples {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			var inv *InvalidEventError
			if !errors.As(err, &inv) || !slices.Contains(InvalidEventReasons(), inv.Reason) {
				t.Fatalf("error %v is not an InvalidEventError with a known reason", err)
			}
			if inv.EventID != "" && !validEventID(inv.EventID) {
				t.Fatalf("error names invalid id %q", inv.EventID)
			}
			return
		}
		checkEventInvariants(t, ev)
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted event does not marshal: %v", err)
		}
		ev2, err := DecodeEvent(again)
		if err != nil {
			t.Fatalf("accepted event %s is refused after a round trip: %v", again, err)
		}
		if again2, _ := json.Marshal(ev2); !bytes.Equal(again, again2) {
			t.Fatalf("round trip changed the event:\n%s\n%s", again, again2)
		}
	})
}

// validText reports whether s has 1 to limit characters, is UTF-8, and
// has no control character or line separator.
func validText(s string, limit int) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= limit && utf8.ValidString(s) &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' })
}

func validEventID(id string) bool { return validText(id, MaxIDLength) }

func checkEventInvariants(t *testing.T, ev Event) {
	t.Helper()
	if !validEventID(ev.ID) {
		t.Fatalf("accepted id %q", ev.ID)
	}
	if ev.SchemaVersion != 0 && ev.SchemaVersion != Version {
		t.Fatalf("accepted schema_version %d", ev.SchemaVersion)
	}
	checkImageInvariants(t, ev.Image)
	if ev.Model != nil {
		checkModelInvariants(t, *ev.Model)
		if ev.Models != nil {
			t.Fatal("accepted model and models")
		}
	}
	if ev.Models != nil {
		if len(ev.Models) < 1 || len(ev.Models) > MaxModels || ev.OutputConfig != nil {
			t.Fatalf("accepted %d models beside output config %v", len(ev.Models), ev.OutputConfig)
		}
		for i, m := range ev.Models {
			checkModelInvariants(t, Model{ID: m.ID, VersionID: m.VersionID, UserID: m.UserID, AppID: m.AppID})
			checkOutputConfigInvariants(t, m.OutputConfig)
			for _, o := range ev.Models[:i] {
				if reflect.DeepEqual(o, m) {
					t.Fatalf("accepted model %+v twice", m)
				}
			}
		}
	}
	asks := ev.Asks()
	if len(asks) == 0 || ev.Models != nil && !reflect.DeepEqual(asks, ev.Models) {
		t.Fatalf("event asks for %+v", asks)
	}
	checkOutputConfigInvariants(t, ev.OutputConfig)
	if m := ev.Metadata; m != nil {
		if m[0] != '{' || !json.Valid(m) || !utf8.Valid(m) || len(m) > MaxMetadataBytes || nesting(t, m) > MaxMetadataDepth {
			t.Fatalf("accepted metadata %.200s", m)
		}
	}
}

// nesting counts how deeply objects and arrays nest in the JSON value v.
func nesting(t *testing.T, v []byte) int {
	dec := json.NewDecoder(bytes.NewReader(v))
	d, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			t.Fatalf("metadata %.200s: %v", v, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			deepest = max(deepest, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}

func checkImageInvariants(t *testing.T, img Image) {
	t.Helper()
	sources := 0
	if img.URL != "" {
		sources++
		u, err := url.Parse(img.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
			utf8.RuneCountInString(img.URL) > MaxURLLength || !utf8.ValidString(img.URL) {
			t.Fatalf("accepted url %q", img.URL)
		}
	}
	if img.Base64 != "" {
		sources++
		want, err := base64.StdEncoding.DecodeString(img.Base64)
		if err != nil || len(img.Bytes) == 0 || len(img.Bytes) > MaxImageBytes || !bytes.Equal(want, img.Bytes) {
			t.Fatalf("accepted base64 %q with %d bytes", img.Base64, len(img.Bytes))
		}
	} else if img.Bytes != nil {
		t.Fatal("image bytes without base64")
	}
	if o := img.Object; o != nil {
		sources++
		if o.Bucket == "" || len(o.Bucket) > MaxBucketLength || !validText(o.Name, MaxObjectNameLength) {
			t.Fatalf("accepted object %+v", *o)
		}
	}
	if sources != 1 {
		t.Fatalf("accepted an image with %d sources", sources)
	}
}

func checkModelInvariants(t *testing.T, m Model) {
	t.Helper()
	for _, f := range []string{m.ID, m.VersionID, m.UserID, m.AppID} {
		if f != "" && !validText(f, MaxModelFieldLength) {
			t.Fatalf("accepted model %+v", m)
		}
	}
}

func checkOutputConfigInvariants(t *testing.T, oc *OutputConfig) {
	t.Helper()
	if oc == nil {
		return
	}
	if oc.MinValue < 0 || oc.MinValue > 1 || len(oc.SelectConcepts) > MaxSelectConcepts {
		t.Fatalf("accepted output config %+v", *oc)
	}
	for _, c := range oc.SelectConcepts {
		if (c.ID == "") == (c.Name == "") || !validText(c.ID+c.Name, MaxConceptLength) {
			t.Fatalf("accepted concept %+v", c)
		}
	}
}
