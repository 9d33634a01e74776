package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// process is a child process of the bench.
type process struct {
	name   string
	cmd    *exec.Cmd
	pid    string // as /proc names it
	stderr *tailBuffer
	done   chan struct{} // closed once the process has exited
	err    error         // what Wait returned, once done is closed
}

func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	p := &process{name: name, cmd: cmd, stderr: &tailBuffer{max: 4 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.pid = strconv.Itoa(cmd.Process.Pid)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exitErr says how the process ended, with the end of its stderr. Call it
// once done is closed.
func (p *process) exitErr() error {
	return fmt.Errorf("%s exited (%v); its stderr ends with: %s", p.name, p.err, strings.TrimSpace(p.stderr.String()))
}

// stop asks the process to end and waits for it, and kills it after
// grace.
func (p *process) stop(ask func() error, grace time.Duration) error {
	_ = ask()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, grace)
	}
	if p.err != nil {
		return p.exitErr()
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// serverProcess is the NATS server, this program started again in its
// serve mode.
type serverProcess struct {
	*process
	url   string
	stdin io.WriteCloser
}

func startServerProcess(ctx context.Context, dataDir string) (*serverProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serveEnv+"="+dataDir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	p, err := startProcess("nats server", cmd)
	if err != nil {
		return nil, err
	}
	s := &serverProcess{process: p, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case s.url = <-line:
		if s.url != "" {
			return s, nil
		}
		<-p.done
		err = p.exitErr()
	case <-t.C:
		err = errors.New("nats server: no client URL within a minute")
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = s.close()
	return nil, err
}

// close ends the server by closing its stdin.
func (s *serverProcess) close() error {
	return s.stop(s.stdin.Close, 30*time.Second)
}

// workerPackage is built into the binary the as-deployed scenario runs.
const workerPackage = "github.com/imgpredict/worker/cmd/worker"

// buildWorker builds the worker binary into dir, with the go command and
// the module this program runs in.
func buildWorker(ctx context.Context, dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command on PATH to build the worker with: %w", err)
	}
	bin := filepath.Join(dir, "worker")
	out, err := exec.CommandContext(ctx, goCmd, "build", "-o", bin, workerPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s (run workerbench from the module's directory): %w\n%s", workerPackage, err, out)
	}
	return bin, nil
}

// inheritedEnv is this process's environment without what the worker or
// the Go runtime would read from it, so that only the bench configures
// the worker.
func inheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == serveEnv, strings.HasPrefix(name, "GO"):
		case strings.HasPrefix(name, "CLARIFAI_"), strings.HasPrefix(name, "NATS_"), strings.HasPrefix(name, "WORKER_"),
			strings.HasPrefix(name, "LOCAL_"), strings.HasPrefix(name, "LOG_"):
		default:
			env = append(env, kv)
		}
	}
	return env
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
