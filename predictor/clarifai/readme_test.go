package clarifai

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// TestReadmeStatusTableIsTheCode: every code the README's status-code
// table lists has, in classify.go, the class and reason the table gives,
// and every reason the table uses is one of the schemas' reason words.
// The README cannot drift from the code.
func TestReadmeStatusTableIsTheCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	classes := map[string]predictor.Class{
		"success": 0, "transient (call)": predictor.Transient, "permanent (call)": predictor.Permanent,
		"account": predictor.Account, "permanent (input)": predictor.PermanentInput, "transient (input)": predictor.TransientInput,
	}
	grpcCodes := map[string]codes.Code{}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		grpcCodes[strings.ToUpper(c.String())] = c
	}
	grpcCodes["CANCELED"] = codes.Canceled
	grpcCodes["DEADLINE_EXCEEDED"] = codes.DeadlineExceeded
	grpcCodes["INVALID_ARGUMENT"] = codes.InvalidArgument
	grpcCodes["NOT_FOUND"] = codes.NotFound
	grpcCodes["FAILED_PRECONDITION"] = codes.FailedPrecondition
	grpcCodes["PERMISSION_DENIED"] = codes.PermissionDenied
	grpcCodes["RESOURCE_EXHAUSTED"] = codes.ResourceExhausted

	row := regexp.MustCompile("(?m)^\\| ([a-z ()]+) \\| `?([a-z_]*)`? \\| (.*) \\|$")
	number := regexp.MustCompile(`\b(\d{5})(?:-(\d{5}))?\b`)
	grpcName := regexp.MustCompile(`\b[A-Z][A-Z_]+\b`)
	rows, checked := 0, 0
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		class, ok := classes[m[1]]
		if !ok {
			continue // a row of another table
		}
		rows++
		reason, codesText := m[2], m[3]
		if reason != "" {
			require.Contains(t, schemas.Reasons(), reason, "README reason %q is no reason word", reason)
		}
		text, grpcPart, _ := strings.Cut(codesText, "gRPC")
		for _, n := range number.FindAllStringSubmatch(text, -1) {
			from, _ := strconv.Atoi(n[1])
			to := from
			if n[2] != "" {
				to, _ = strconv.Atoi(n[2])
			}
			for code := from; code <= to; code++ {
				r := classifyStatus(uint32(code))
				if class == predictor.PermanentInput || class == predictor.TransientInput {
					r = classifyOutput(uint32(code))
				}
				require.Equal(t, class, r.class, "README row %q %q: code %d", m[1], reason, code)
				require.Equal(t, reason, r.reason, "README row %q: code %d", m[1], code)
				checked++
			}
		}
		for _, name := range grpcName.FindAllString(grpcPart, -1) {
			c, ok := grpcCodes[name]
			require.True(t, ok, "README names gRPC code %q", name)
			r := classifyGRPC(status.Error(c, "x"))
			require.Equal(t, class, r.class, "README row %q: gRPC %s", m[1], name)
			require.Equal(t, reason, r.reason, "README row %q: gRPC %s", m[1], name)
			checked++
		}
	}
	require.Greater(t, rows, 15, "the README's status table was not found")
	require.Greater(t, checked, 100)
}
