//go:build integration

package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// The users of deploy/nats/image-worker-account.conf, and the passwords
// the NATS container gets in its environment.
var natsPasswords = map[string]string{
	"admin":  "IMAGE_ADMIN_PASSWORD",
	"worker": "IMAGE_WORKER_PASSWORD", "worker-create": "IMAGE_WORKER_CREATE_PASSWORD",
	"emit": "IMAGE_EMIT_PASSWORD", "indexer": "IMAGE_INDEXER_PASSWORD", "viewer": "IMAGE_VIEWER_PASSWORD",
}

func natsPassword(user string) string { return user + "-it-secret" }

// natsInboxes are the users' inbox prefixes, as deploy/nats gives them.
var natsInboxes = map[string]string{"worker": "_INBOX_worker", "emit": "_INBOX_emit"}

// otherAccounts stands for another application's account on the same
// server: a user and a stream of its own.
const otherAccounts = `ORDERS: {
  jetstream: enabled
  users: [ { user: orders, password: orders-it-secret } ]
}
`

// pki is a CA, a server certificate for the NATS container (as "nats" on
// the test network and 127.0.0.1 from the host) and one client
// certificate, all PEM.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey []byte
}

func newPKI(t *testing.T) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "image-worker test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(serial int64, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = caTmpl.NotBefore, caTmpl.NotAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}
	p := pki{ca: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.serverCert, p.serverKey = leaf(2, &x509.Certificate{
		Subject: pkix.Name{CommonName: "nats"}, DNSNames: []string{"nats", "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	p.clientCert, p.clientKey = leaf(3, &x509.Certificate{
		Subject: pkix.Name{CommonName: "image-worker"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return p
}

func (p pki) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(p.ca))
	cert, err := tls.X509KeyPair(p.clientCert, p.clientKey)
	require.NoError(t, err)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func files(entries map[string][]byte) testcontainers.CustomizeRequestOption {
	var fs []testcontainers.ContainerFile
	for path, data := range entries {
		// Readable by the worker's user (65532): they are test secrets.
		fs = append(fs, testcontainers.ContainerFile{Reader: strings.NewReader(string(data)), ContainerFilePath: path, FileMode: 0o444})
	}
	return testcontainers.WithFiles(fs...)
}

// startSecureNATS runs nats-server with deploy/nats/nats-server.conf and
// the account file as they are, the test's other account and
// certificates, and the users' passwords in its environment.
func startSecureNATS(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork, p pki) *natsNode {
	t.Helper()
	deploy := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "deploy", "nats", name))
		require.NoError(t, err)
		return b
	}
	env := map[string]string{}
	for user, v := range natsPasswords {
		env[v] = natsPassword(user)
	}
	n := &natsNode{name: "nats"}
	c, err := testcontainers.Run(ctx, suite.natsImage,
		testcontainers.WithCmd("-c", "/etc/nats/nats-server.conf"),
		testcontainers.WithEnv(env),
		files(map[string][]byte{
			"/etc/nats/nats-server.conf":          deploy("nats-server.conf"),
			"/etc/nats/image-worker-account.conf": deploy("image-worker-account.conf"),
			"/etc/nats/other-accounts.conf":       []byte(otherAccounts),
			"/etc/nats/tls/ca.pem":                p.ca,
			"/etc/nats/tls/server.pem":            p.serverCert,
			"/etc/nats/tls/server-key.pem":        p.serverKey,
		}),
		testcontainers.WithExposedPorts("4222/tcp", "8222/tcp"),
		network.WithNetwork([]string{n.name}, nw),
		testcontainers.WithWaitStrategy(wait.ForLog("Server is ready").WithStartupTimeout(60*time.Second)),
	)
	testcontainers.CleanupContainer(t, c)
	require.NoError(t, err)
	n.c = c
	dumpLogsOnFailure(t, n.name, c)
	waitHealthy(ctx, t, n)
	return n
}

// asyncErrors collects the errors the server sends a connection, such as
// permission violations.
type asyncErrors struct {
	mu   sync.Mutex
	errs []error
}

func (a *asyncErrors) handle(_ *nats.Conn, _ *nats.Subscription, err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
}

func (a *asyncErrors) violations() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var v []string
	for _, err := range a.errs {
		if errors.Is(err, nats.ErrPermissionViolation) {
			v = append(v, err.Error())
		}
	}
	return v
}

// connectTLS connects from the host as user, over TLS with the client
// certificate.
func connectTLS(ctx context.Context, t *testing.T, n *natsNode, p pki, user, password string) (*nats.Conn, jetstream.JetStream, *asyncErrors) {
	t.Helper()
	port, err := n.c.MappedPort(ctx, "4222/tcp")
	require.NoError(t, err)
	ae := &asyncErrors{}
	opts := []nats.Option{nats.Secure(p.clientTLS(t)), nats.UserInfo(user, password),
		nats.Name("integration-" + user), nats.ErrorHandler(ae.handle)}
	if inbox, ok := natsInboxes[user]; ok {
		opts = append(opts, nats.CustomInboxPrefix(inbox))
	}
	nc, err := nats.Connect("tls://127.0.0.1:"+port.Port(), opts...)
	require.NoError(t, err, user)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js, ae
}

// TestLeastPrivilege runs the worker container as the user "worker" of
// deploy/nats, over TLS with a client certificate, against a NATS
// container configured by deploy/nats/nats-server.conf: events in,
// results out, one dead letter, and not one permission violation. Then,
// with the worker's credentials, the test tries to publish an event and to
// read another account's stream, and is refused.
func TestLeastPrivilege(t *testing.T) {
	requireDocker(t)
	ctx := scenarioContext(t)
	nw, err := network.New(ctx)
	testcontainers.CleanupNetwork(t, nw)
	require.NoError(t, err)
	p := newPKI(t)
	n := startSecureNATS(ctx, t, nw, p)

	// The operator makes the streams and buckets; the worker's user
	// cannot (WORKER_CREATE_STREAMS=false).
	_, admin, _ := connectTLS(ctx, t, n, p, "admin", natsPassword("admin"))
	for _, s := range []jetstream.StreamConfig{
		{Name: inputStream, Subjects: []string{"images.>"}},
		{Name: resultsStream, Subjects: []string{"predictions.>"}, Duplicates: 10 * time.Minute},
		{Name: deadLetterStream, Subjects: []string{"deadletters.>"}},
	} {
		_, err := admin.CreateStream(ctx, s)
		require.NoError(t, err, s.Name)
	}
	for _, b := range []string{"images", "masks", "deadletters"} {
		_, err := admin.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: b})
		require.NoError(t, err, b)
	}
	for _, kv := range []jetstream.KeyValueConfig{
		{Bucket: "image-worker-done", History: 1, TTL: 72 * time.Hour},
		{Bucket: "image-worker-cache", History: 1, TTL: 24 * time.Hour},
		{Bucket: "image-worker-quota", History: 1, TTL: time.Minute, Storage: jetstream.MemoryStorage},
	} {
		_, err := admin.CreateKeyValue(ctx, kv)
		require.NoError(t, err, kv.Bucket)
	}
	_, orders, _ := connectTLS(ctx, t, n, p, "orders", "orders-it-secret")
	_, err = orders.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	require.NoError(t, err)

	startFake(ctx, t, nw, nil)
	env := workerEnv("tls://nats:4222", map[string]string{
		"NATS_USER": "worker", "NATS_PASSWORD": natsPassword("worker"), "NATS_INBOX_PREFIX": natsInboxes["worker"],
		"NATS_TLS_CA": "/etc/worker/tls/ca.pem", "NATS_TLS_CERT": "/etc/worker/tls/client.pem", "NATS_TLS_KEY": "/etc/worker/tls/client-key.pem",
		"WORKER_CREATE_STREAMS": "false",
	})
	startWorker(ctx, t, nw, workerName(0), env, files(map[string][]byte{
		"/etc/worker/tls/ca.pem": p.ca, "/etc/worker/tls/client.pem": p.clientCert, "/etc/worker/tls/client-key.pem": p.clientKey,
	}))

	// Producers publish as "emit"; the test counts as "admin".
	_, producer, _ := connectTLS(ctx, t, n, p, "emit", natsPassword("emit"))
	ids := eventIDs(200)
	started := time.Now()
	pub := publish(ctx, producer, ids, map[string]bool{ids[7]: true}, 0)
	pub.wait(t)
	waitSettled(ctx, t, admin, len(ids), 2*time.Minute)
	c, _, dead := account(ctx, t, admin, ids, started)
	requireExactlyOnce(t, c)
	require.Equal(t, map[string]int{ids[7]: 1}, dead, "one dead letter, for the event without an image")
	require.Empty(t, serverViolations(ctx, t, n), "the worker had every permission it needed")

	// With the worker's credentials: no events, no other account.
	wnc, wjs, werrs := connectTLS(ctx, t, n, p, "worker", natsPassword("worker"))
	attempt := func(f func(ctx context.Context) error) error {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return f(actx)
	}
	require.Error(t, attempt(func(ctx context.Context) error {
		_, err := wjs.Publish(ctx, "images.upload", eventJSON("forged", false))
		return err
	}), "the worker's user cannot publish events")
	require.Error(t, attempt(func(ctx context.Context) error { _, err := wjs.Stream(ctx, "ORDERS"); return err }))
	require.Error(t, attempt(func(ctx context.Context) error {
		_, err := wjs.OrderedConsumer(ctx, "ORDERS", jetstream.OrderedConsumerConfig{})
		return err
	}))
	_, err = wnc.SubscribeSync("orders.>")
	require.NoError(t, err, "refused asynchronously")
	require.NoError(t, wnc.Flush())
	want := []string{
		`Permissions Violation for Publish to "images.upload"`,
		`Permissions Violation for Publish to "$JS.API.STREAM.INFO.ORDERS"`,
		`Permissions Violation for Publish to "$JS.API.CONSUMER.CREATE.ORDERS.`,
		`Permissions Violation for Subscription to "orders.>"`,
	}
	require.Eventually(t, func() bool { return len(werrs.violations()) >= len(want) }, 10*time.Second, 50*time.Millisecond,
		"violations: %v", werrs.violations())
	got := strings.Join(werrs.violations(), "\n")
	for _, w := range want {
		require.Contains(t, got, w)
	}
	// Not even admin sees into another account: there, ORDERS does not exist.
	require.ErrorIs(t, attempt(func(ctx context.Context) error { _, err := admin.Stream(ctx, "ORDERS"); return err }), jetstream.ErrStreamNotFound)
}

// serverViolations lists the permission violations the NATS container
// has logged for the worker's user.
func serverViolations(ctx context.Context, t *testing.T, n *natsNode) []string {
	t.Helper()
	rc, err := n.c.Logs(ctx)
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	var v []string
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "Violation") {
			v = append(v, strings.TrimSpace(line))
		}
	}
	return v
}
