package emit

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// imageExts are the extensions picked up when walking a directory. A file
// named on the command line is sent whatever its extension.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true}

// maxLine fits an event with the largest inline image (20 MiB as base64).
const maxLine = 32 << 20

// item is one thing to emit: an image file, a URL, or a .jsonl file of
// events (events > 1).
type item struct {
	path   string
	url    string
	jsonl  bool
	events int
}

// plan expands sources into items, so that the total is known up front
// for the progress bar and a typo fails before anything is published.
func plan(sources []string) ([]item, int, error) {
	var items []item
	total := 0
	add := func(it item) {
		items = append(items, it)
		total += it.events
	}
	for _, src := range sources {
		if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
			add(item{url: src, events: 1})
			continue
		}
		info, err := os.Stat(src)
		if err != nil {
			return nil, 0, fmt.Errorf("source: %w", err)
		}
		switch {
		case info.IsDir():
			err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() && imageExts[strings.ToLower(filepath.Ext(path))] {
					add(item{path: path, events: 1})
				}
				return nil
			})
			if err != nil {
				return nil, 0, fmt.Errorf("source %s: %w", src, err)
			}
		case strings.EqualFold(filepath.Ext(src), ".jsonl"):
			n, err := countLines(src)
			if err != nil {
				return nil, 0, err
			}
			add(item{path: src, jsonl: true, events: n})
		default:
			add(item{path: src, events: 1})
		}
	}
	return items, total, nil
}

// countLines counts the non-blank lines of a .jsonl file.
func countLines(path string) (int, error) {
	n := 0
	err := eachLine(path, func(int, []byte) error { n++; return nil })
	return n, err
}

// eachLine calls fn with the number and content of every non-blank line
// until fn returns an error. line is only valid during the call.
func eachLine(path string, fn func(no int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	no := 0
	for sc.Scan() {
		no++
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			if err := fn(no, line); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("source %s: after line %d: %w", path, no, err)
	}
	return nil
}
