package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	promql "github.com/prometheus/prometheus/promql/parser"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/deploy"
	"github.com/imgpredict/worker/internal/natstest"
)

// describing records the name of every metric a collector describes as
// it registers, so vectors with no children yet count too.
type describing struct {
	prometheus.Registerer
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describing) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return d.Registerer.Register(c)
}

func (d *describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

// registeredMetrics builds the worker's parts as runWorker does and
// returns the names of every metric registered, with the type of those
// already gathered (vectors without children are not).
func registeredMetrics(t *testing.T) (map[string]bool, map[string]dto.MetricType) {
	t.Helper()
	srv := natstest.Start(t)
	nc, js := natstest.Connect(t, srv.ClientURL())
	cfg, err := loadConfig("worker", nil, env(map[string]string{"CLARIFAI_PAT": "p"}), io.Discard)
	require.NoError(t, err)

	reg := newRegistry()
	d := &describing{Registerer: reg, names: map[string]bool{}}
	// Go's and the process's collectors are on reg already.
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		d.names[f.GetName()] = true
	}
	p, err := newParts(cfg, nc, js, zerolog.Nop(), d)
	require.NoError(t, err)
	t.Cleanup(p.close)

	families, err = reg.Gather()
	require.NoError(t, err)
	types := map[string]dto.MetricType{}
	for _, f := range families {
		types[f.GetName()] = f.GetType()
	}
	require.Contains(t, d.names, "worker_dead_letters_total", "a vector without children counts")
	require.Contains(t, d.names, "worker_clarifai_calls_total")
	return d.names, types
}

// metricNames lists the metric names an expression selects.
func metricNames(t *testing.T, q deploy.Query) []string {
	t.Helper()
	expr, err := promql.NewParser(promql.Options{}).ParseExpr(q.Expr)
	require.NoError(t, err, "%s: %s", q.Where, q.Expr)
	var names []string
	promql.Inspect(expr, func(n promql.Node, _ []promql.Node) error {
		if vs, ok := n.(*promql.VectorSelector); ok {
			require.NotEmpty(t, vs.Name, "%s selects no metric by name: %s", q.Where, vs)
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// TestDashboardAndAlertsUseRegisteredMetrics parses every PromQL
// expression of the Grafana dashboard and of both rule files, and checks
// that each metric they select is one the worker registers: they cannot
// drift from the code.
func TestDashboardAndAlertsUseRegisteredMetrics(t *testing.T) {
	registered, types := registeredMetrics(t)
	queries, err := deploy.Queries()
	require.NoError(t, err)
	require.NotEmpty(t, queries)

	for _, q := range queries {
		for _, name := range metricNames(t, q) {
			if registered[name] {
				continue
			}
			base, suffix, ok := histogramSeries(name)
			require.True(t, ok && registered[base], "%s uses %s, which the worker does not register", q.Where, name)
			if typ, gathered := types[base]; gathered {
				require.True(t, typ == dto.MetricType_HISTOGRAM || (typ == dto.MetricType_SUMMARY && suffix != "_bucket"),
					"%s uses %s, but %s is a %s", q.Where, name, base, typ)
			}
		}
	}
}

// histogramSeries splits a histogram's or summary's series name.
func histogramSeries(name string) (base, suffix string, ok bool) {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, found := strings.CutSuffix(name, s); found {
			return b, s, true
		}
	}
	return "", "", false
}
