//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

const imageRepo = "imgpredict-it/"

// images are the tags of the images built for this run.
type images struct{ nats, worker, fake string }

// imageTag names this run's images after the testcontainers session, so
// that .ci/integration.sh can remove them by name and parallel runs on one
// engine do not share tags.
func imageTag() string {
	id := os.Getenv("TESTCONTAINERS_SESSION_ID")
	if id == "" {
		return "local"
	}
	return regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(id, "-")
}

// buildImages compiles nats-server, the worker and the fake Clarifai server
// on the host, static, and wraps each in a FROM scratch image. Nothing is
// pulled: scratch is no image, and the legacy builder needs no frontend.
func buildImages(ctx context.Context, p *testcontainers.DockerProvider) (images, error) {
	dir, err := os.MkdirTemp("", "integration-bin-")
	if err != nil {
		return images{}, fmt.Errorf("temp dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -X main.version=integration",
		"-o", dir+string(os.PathSeparator),
		"github.com/nats-io/nats-server/v2",
		"github.com/imgpredict/worker/cmd/worker",
		"github.com/imgpredict/worker/cmd/fakeclarifai")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return images{}, fmt.Errorf("go build: %w\n%s", err, out)
	}

	tag := imageTag()
	var imgs images
	for _, b := range []struct {
		bin, dockerfile string
		out             *string
	}{
		{"nats-server", "EXPOSE 4222 6222 8222\nENTRYPOINT [\"/nats-server\"]\n", &imgs.nats},
		{"worker", "USER 65532:65532\nEXPOSE 9090\nENTRYPOINT [\"/worker\"]\n", &imgs.worker},
		{"fakeclarifai", "USER 65532:65532\nEXPOSE 50051\nENTRYPOINT [\"/fakeclarifai\"]\n", &imgs.fake},
	} {
		bin, err := os.ReadFile(filepath.Join(dir, b.bin))
		if err != nil {
			return imgs, fmt.Errorf("read %s: %w", b.bin, err)
		}
		archive, err := buildContext(b.bin, bin, "FROM scratch\nCOPY "+b.bin+" /"+b.bin+"\n"+b.dockerfile)
		if err != nil {
			return imgs, err
		}
		ref, err := p.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
			ContextArchive: bytes.NewReader(archive),
			Repo:           imageRepo + b.bin,
			Tag:            tag,
			KeepImage:      true,
		}})
		if err != nil {
			return imgs, fmt.Errorf("build image %s: %w", b.bin, err)
		}
		*b.out = ref
	}
	return imgs, nil
}

// buildContext is a tar of a Dockerfile and one executable.
func buildContext(name string, bin []byte, dockerfile string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {name, 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}

func (imgs images) remove(ctx context.Context, p *testcontainers.DockerProvider) {
	for _, ref := range []string{imgs.nats, imgs.worker, imgs.fake} {
		if ref == "" || !strings.HasPrefix(ref, imageRepo) {
			continue
		}
		if _, err := p.Client().ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			fmt.Fprintf(os.Stderr, "integration: remove image %s: %v\n", ref, err)
		}
	}
}
