// Package subjects compares NATS subjects with wildcards ('*' one token,
// '>' the rest), as JetStream does when it decides which stream captures
// a subject.
package subjects

import "strings"

// Covers reports whether every subject that filter matches is also
// matched by pattern: a stream on pattern captures all of filter.
func Covers(pattern, filter string) bool {
	p, f := strings.Split(pattern, "."), strings.Split(filter, ".")
	for i, tok := range p {
		switch {
		case tok == ">":
			return len(f) > i
		case i >= len(f):
			return false
		case f[i] == ">":
			return false // filter goes on where pattern names tokens
		case tok == "*":
		case tok != f[i]:
			return false // a literal covers only itself, not '*'
		}
	}
	return len(p) == len(f)
}

// Collide reports whether some subject is matched by both a and b.
func Collide(a, b string) bool {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		switch {
		case i == len(x) || i == len(y):
			return len(x) == len(y)
		case x[i] == ">" || y[i] == ">":
			return true
		case x[i] != "*" && y[i] != "*" && x[i] != y[i]:
			return false
		}
	}
}

// Widen is the subject of a stream the worker creates for an output
// subject: its first token and '>' when it has more than one (so that
// several workers can share the stream), else the subject itself.
func Widen(subject string) string {
	first, rest, ok := strings.Cut(subject, ".")
	if !ok || first == "*" || rest == "" {
		return subject
	}
	return first + ".>"
}
