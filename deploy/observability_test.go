package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/deploy"
)

func TestDashboardPanelsAreComplete(t *testing.T) {
	d, err := deploy.LoadDashboard()
	require.NoError(t, err)
	require.Equal(t, "image-worker", d.UID)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	require.Equal(t, "datasource", vars["datasource"], "panels read ${datasource}, so the dashboard imports anywhere")

	ids, titles := map[int]bool{}, map[string]bool{}
	panels := 0
	for _, p := range d.Panels {
		require.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		panels++
		require.False(t, titles[p.Title], "panel %q twice", p.Title)
		titles[p.Title] = true
		require.NotEmpty(t, p.Description, p.Title)
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, p.Title)
		}
	}
	require.GreaterOrEqual(t, panels, 12)
}

// The five alerts the worker's operators need, in both forms.
var wantAlerts = []string{
	"ImageWorkerBacklogGrowing",
	"ImageWorkerDeadLetterRate",
	"ImageWorkerPaused",
	"ImageWorkerNoResults",
	"ImageWorkerThrottled",
}

func TestAlertRulesAreTheSameInBothFormsAndExplainThemselves(t *testing.T) {
	plain, operator, err := deploy.LoadRules()
	require.NoError(t, err)
	require.Equal(t, plain, operator, "the rules file and the PrometheusRule hold the same rules")

	var names []string
	for _, g := range plain {
		require.NotEmpty(t, g.Name)
		for _, r := range g.Rules {
			names = append(names, r.Alert)
			d, err := time.ParseDuration(r.For)
			require.NoError(t, err, r.Alert)
			require.GreaterOrEqual(t, d, 5*time.Minute, "%s: a blip is not an alert", r.Alert)
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.Contains(t, r.Annotations["description"], "What it means:", r.Alert)
			require.Contains(t, r.Annotations["description"], "What to do:", r.Alert)
		}
	}
	require.ElementsMatch(t, wantAlerts, names)
}

// TestREADMEListsPanelsAndAlerts keeps the README's Operating section in
// step with the dashboard and the rules.
func TestREADMEListsPanelsAndAlerts(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Operating\n")
	require.True(t, ok, "README has an Operating section")
	section, _, _ = strings.Cut(section, "\n## ")

	d, err := deploy.LoadDashboard()
	require.NoError(t, err)
	for _, p := range d.Panels {
		if p.Type != "row" {
			require.Contains(t, section, "| "+p.Title+" |", "panel %q", p.Title)
		}
	}
	for _, a := range wantAlerts {
		require.Contains(t, section, "`"+a+"`")
	}
	for _, f := range []string{deploy.DashboardFile, deploy.RulesFile, deploy.PrometheusRuleFile} {
		require.Contains(t, section, "deploy/"+f)
	}
}
