package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/embedded"
)

// serveEnv, when set, turns this program into a NATS server with
// JetStream file storage in the directory it names. The as-deployed
// scenario starts the program again this way so that the broker runs in
// a process of its own, without a second binary to build.
const serveEnv = "WORKERBENCH_SERVE_NATS"

// serveIfAsked serves and exits when the environment asks for it; it
// returns at once otherwise.
func serveIfAsked() {
	if dir := os.Getenv(serveEnv); dir != "" {
		os.Exit(serveNATS(dir, os.Stdin, os.Stdout, os.Stderr))
	}
}

// serveNATS prints the client URL as one line on stdout, then serves
// until stdin reaches its end: the parent holds the other end of it, so
// the server never outlives the bench, however the bench ends.
func serveNATS(dir string, stdin io.Reader, stdout, stderr io.Writer) int {
	log := zerolog.New(stderr).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	srv, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:-1", DataDir: dir}, log)
	if err != nil {
		fmt.Fprintln(stderr, "workerbench nats server:", err)
		return 1
	}
	defer srv.Shutdown()
	if _, err := fmt.Fprintln(stdout, srv.ClientURL()); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, stdin)
	return 0
}
