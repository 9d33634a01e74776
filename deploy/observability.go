package deploy

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Where the dashboard and the alerting rules are, in this directory.
const (
	DashboardFile      = "grafana/image-worker.json"
	RulesFile          = "prometheus/image-worker-rules.yaml"
	PrometheusRuleFile = "prometheus/prometheusrule.yaml"
)

//go:embed grafana/image-worker.json prometheus/image-worker-rules.yaml prometheus/prometheusrule.yaml
var files embed.FS

// Dashboard is the part of a Grafana dashboard the checks look at.
type Dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Panel is a panel or a row of panels.
type Panel struct {
	ID          int     `json:"id"`
	Type        string  `json:"type"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Panels      []Panel `json:"panels"` // a collapsed row's
	Targets     []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// RuleGroup is a group of Prometheus alerting rules.
type RuleGroup struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// LoadDashboard reads the Grafana dashboard.
func LoadDashboard() (Dashboard, error) {
	var d Dashboard
	b, err := files.ReadFile(DashboardFile)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", DashboardFile, err)
	}
	return d, nil
}

// LoadRules reads the alerting rules from the plain rules file and from
// the PrometheusRule manifest.
func LoadRules() (plain, operator []RuleGroup, err error) {
	var f struct {
		Groups []RuleGroup `yaml:"groups"`
	}
	if err := readYAML(RulesFile, &f); err != nil {
		return nil, nil, err
	}
	var m struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Groups []RuleGroup `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := readYAML(PrometheusRuleFile, &m); err != nil {
		return nil, nil, err
	}
	if m.APIVersion != "monitoring.coreos.com/v1" || m.Kind != "PrometheusRule" {
		return nil, nil, fmt.Errorf("%s: %s %s is not a monitoring.coreos.com/v1 PrometheusRule", PrometheusRuleFile, m.APIVersion, m.Kind)
	}
	return f.Groups, m.Spec.Groups, nil
}

func readYAML(name string, v any) error {
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Query is one PromQL expression of the dashboard or the rules.
type Query struct {
	Where string // the file, and the panel, variable or alert
	Expr  string
}

// labelValues is Grafana's query of a variable's values.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// Queries lists every PromQL expression of the dashboard (its panels and
// variables) and of both rule files, as Prometheus would get them:
// Grafana's $__rate_interval becomes 5m.
func Queries() ([]Query, error) {
	d, err := LoadDashboard()
	if err != nil {
		return nil, err
	}
	var qs []Query
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				qs = append(qs, Query{DashboardFile + ": " + p.Title, strings.ReplaceAll(t.Expr, "$__rate_interval", "5m")})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			qs = append(qs, Query{DashboardFile + ": variable " + v.Name, m[1]})
		}
	}
	plain, operator, err := LoadRules()
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name   string
		groups []RuleGroup
	}{{RulesFile, plain}, {PrometheusRuleFile, operator}} {
		for _, g := range f.groups {
			for _, r := range g.Rules {
				qs = append(qs, Query{f.name + ": " + r.Alert, r.Expr})
			}
		}
	}
	return qs, nil
}
