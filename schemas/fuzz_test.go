package schemas

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeEvent feeds arbitrary messages to DecodeEvent: it must never
// panic, must reject with a known reason, and what it accepts must keep
// the event invariants and survive a round trip.
func FuzzDecodeEvent(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.data)
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

func validEventID(id string) bool {
	n := utf8.RuneCountInString(id)
	return n >= 1 && n <= MaxIDLength
}

func checkEventInvariants(t *testing.T, ev Event) {
	t.Helper()
	if !validEventID(ev.ID) {
		t.Fatalf("accepted id %q", ev.ID)
	}
	if ev.SchemaVersion != 0 && ev.SchemaVersion != Version {
		t.Fatalf("accepted schema_version %d", ev.SchemaVersion)
	}
	img := ev.Image
	sources := 0
	if img.URL != "" {
		sources++
		u, err := url.Parse(img.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
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
	if img.Object != nil {
		sources++
		if img.Object.Bucket == "" || img.Object.Name == "" {
			t.Fatalf("accepted object %+v", *img.Object)
		}
	}
	if sources != 1 {
		t.Fatalf("accepted an image with %d sources", sources)
	}
	if oc := ev.OutputConfig; oc != nil {
		if oc.MinValue < 0 || oc.MinValue > 1 || slices.Contains(oc.SelectConcepts, "") {
			t.Fatalf("accepted output config %+v", *oc)
		}
	}
	if m := ev.Metadata; m != nil && (m[0] != '{' || !json.Valid(m)) {
		t.Fatalf("accepted metadata %s", m)
	}
}
