package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
	"github.com/stretchr/testify/require"
)

// TestCreatingWorkerOnlyAddsCreation checks the two users of the worker
// against each other: the one for WORKER_CREATE_STREAMS=true may do what
// the other does, and create streams, nothing more.
func TestCreatingWorkerOnlyAddsCreation(t *testing.T) {
	for _, v := range []string{"ADMIN", "WORKER", "WORKER_CREATE", "EMIT", "INDEXER", "VIEWER"} {
		t.Setenv("IMAGE_"+v+"_PASSWORD", "x")
	}
	account, err := conf.ParseFile(filepath.Join("nats", "image-worker-account.conf"))
	require.NoError(t, err)
	allow := func(name, dir string) []string {
		perms, ok := account[name].(map[string]any)
		require.True(t, ok, name)
		var subjects []string
		for _, s := range perms[dir].(map[string]any)["allow"].([]any) {
			subjects = append(subjects, s.(string))
		}
		return subjects
	}
	worker, creating := allow("WORKER", "publish"), allow("WORKER_CREATE", "publish")
	for _, s := range worker {
		require.Contains(t, creating, s)
	}
	for _, s := range creating {
		if !slices.Contains(worker, s) {
			// Creating a KV bucket reads the account's limits first.
			require.True(t, strings.HasPrefix(s, "$JS.API.STREAM.CREATE.") || s == "$JS.API.INFO", "%s is not creation", s)
		}
	}
	// Each program reads its own replies only.
	for user, inbox := range map[string]string{
		"WORKER": "_INBOX_worker.>", "WORKER_CREATE": "_INBOX_worker.>", "EMIT": "_INBOX_emit.>",
		"INDEXER": "_INBOX_indexer.>", "VIEWER": "_INBOX_viewer.>",
	} {
		require.Equal(t, []string{inbox}, allow(user, "subscribe"), user)
	}

	server, err := os.ReadFile(filepath.Join("nats", "nats-server.conf"))
	require.NoError(t, err)
	require.Contains(t, string(server), `include "image-worker-account.conf"`)
	require.Contains(t, string(server), "verify: true", "clients show certificates")
}
