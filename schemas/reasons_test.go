package schemas

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// reasonConstants reads every Reason* constant of reasons.go, so that a
// word added there and forgotten in Reasons() is noticed.
func reasonConstants(t *testing.T) map[string]string {
	f, err := parser.ParseFile(token.NewFileSet(), "reasons.go", nil, 0)
	require.NoError(t, err)
	words := map[string]string{} // name -> word
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				word, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				words[n.Name] = word
			}
		}
	}
	require.Greater(t, len(words), 30)
	return words
}

func TestReasonWords(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	names := map[string]string{} // word -> constant
	for name, word := range reasonConstants(t) {
		require.True(t, strings.HasPrefix(name, "Reason"), name)
		require.Regexp(t, snake, word, name)
		other, seen := names[word]
		require.False(t, seen, "%s and %s are both %q", name, other, word)
		names[word] = name
	}
	all := Reasons()
	require.Len(t, all, len(names), "Reasons() must list every constant of reasons.go once")
	for _, w := range all {
		require.Contains(t, names, w)
	}
	for _, w := range InvalidEventReasons() {
		require.Contains(t, all, w)
	}
}

// TestReasonsDocumented holds the README's list of reason words to the
// constants, and the dead-letter schema's pattern to every word.
func TestReasonsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Schemas\n")
	require.True(t, ok, "README has no Schemas section")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, w := range Reasons() {
		require.Contains(t, section, "`"+w+"`", "the README's Schemas section does not list %s", w)
		d := fullDeadLetter()
		d.Error.Reason = w
		data, err := d.MarshalJSON()
		require.NoError(t, err)
		require.NoError(t, ValidateDeadLetter(data))
	}
}
