package schemas_test

import (
	"errors"
	"fmt"

	"github.com/imgpredict/worker/schemas"
)

func ExampleDecodeEvent() {
	for _, msg := range []string{
		`{"id":"upload-1","image":{"url":"https://images.example.com/1.jpg"},"metadata":{"tenant":"acme"}}`,
		`{"id":"upload-2","image":{"url":"ftp://images.example.com/2.jpg"}}`,
	} {
		ev, err := schemas.DecodeEvent([]byte(msg))
		var inv *schemas.InvalidEventError
		if errors.As(err, &inv) {
			fmt.Printf("dead letter for %s: %s\n", inv.EventID, inv.Reason)
			continue
		}
		fmt.Printf("predict %s from %s\n", ev.ID, ev.Image.URL)
	}
	// Output:
	// predict upload-1 from https://images.example.com/1.jpg
	// dead letter for upload-2: invalid_url
}
