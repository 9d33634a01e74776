package deploy_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// manifest is the part of a Kubernetes object the checks look at.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec yaml.Node `yaml:"spec"`
}

func readManifests(t *testing.T, pattern string) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob(pattern)
	require.NoError(t, err)
	require.NotEmpty(t, files, pattern)
	byKind := map[string]manifest{}
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(fh)
		for {
			var m manifest
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			require.NotEmpty(t, m.APIVersion, f)
			require.NotEmpty(t, m.Metadata.Name, f)
			require.NotContains(t, byKind, m.Kind, "one %s per example", m.Kind)
			byKind[m.Kind] = m
		}
		require.NoError(t, fh.Close())
	}
	return byKind
}

func decodeSpec(t *testing.T, m manifest, v any) {
	t.Helper()
	require.NoError(t, m.Spec.Decode(v), m.Kind)
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type deploymentSpec struct {
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			SecurityContext struct {
				RunAsNonRoot bool `yaml:"runAsNonRoot"`
				RunAsUser    int  `yaml:"runAsUser"`
			} `yaml:"securityContext"`
			Containers []struct {
				Ports []struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				} `yaml:"ports"`
				Env []struct {
					Name      string `yaml:"name"`
					ValueFrom struct {
						SecretKeyRef struct {
							Name string `yaml:"name"`
							Key  string `yaml:"key"`
						} `yaml:"secretKeyRef"`
					} `yaml:"valueFrom"`
				} `yaml:"env"`
				LivenessProbe  probe `yaml:"livenessProbe"`
				ReadinessProbe probe `yaml:"readinessProbe"`
				Resources      struct {
					Requests map[string]string `yaml:"requests"`
					Limits   map[string]string `yaml:"limits"`
				} `yaml:"resources"`
			} `yaml:"containers"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

func TestKubernetesManifestsWireTogether(t *testing.T) {
	k := readManifests(t, filepath.Join("k8s", "*.yaml"))
	for _, kind := range []string{"Deployment", "Secret", "PodDisruptionBudget", "Service"} {
		require.Contains(t, k, kind)
	}

	var dep deploymentSpec
	decodeSpec(t, k["Deployment"], &dep)
	require.Equal(t, dep.Selector.MatchLabels, dep.Template.Metadata.Labels)
	require.True(t, dep.Template.Spec.SecurityContext.RunAsNonRoot)
	require.Equal(t, 65532, dep.Template.Spec.SecurityContext.RunAsUser, "the image's USER")
	require.Len(t, dep.Template.Spec.Containers, 1)
	c := dep.Template.Spec.Containers[0]
	require.Len(t, c.Ports, 1)
	require.Equal(t, 9090, c.Ports[0].ContainerPort, "WORKER_HTTP_ADDR's default port")
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, c.Ports[0].Name, c.LivenessProbe.HTTPGet.Port)
	require.Equal(t, c.Ports[0].Name, c.ReadinessProbe.HTTPGet.Port)
	require.NotEmpty(t, c.Resources.Requests["memory"])
	require.NotEmpty(t, c.Resources.Limits["memory"])

	var secretData struct {
		StringData map[string]string `yaml:"stringData"`
	}
	readDoc(t, filepath.Join("k8s", "secret.example.yaml"), &secretData)
	pat := false
	for _, e := range c.Env {
		if e.Name != "CLARIFAI_PAT" {
			continue
		}
		pat = true
		require.Equal(t, k["Secret"].Metadata.Name, e.ValueFrom.SecretKeyRef.Name)
		require.Contains(t, secretData.StringData, e.ValueFrom.SecretKeyRef.Key)
	}
	require.True(t, pat, "CLARIFAI_PAT comes from the Secret")

	var pdb struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	}
	decodeSpec(t, k["PodDisruptionBudget"], &pdb)
	require.Equal(t, dep.Selector.MatchLabels, pdb.Selector.MatchLabels)

	var svc struct {
		Selector map[string]string `yaml:"selector"`
	}
	decodeSpec(t, k["Service"], &svc)
	require.Equal(t, dep.Selector.MatchLabels, svc.Selector)
}

func TestKEDAScalesTheWorkerOnItsConsumer(t *testing.T) {
	k := readManifests(t, filepath.Join("keda", "*.yaml"))
	require.Contains(t, k, "ScaledObject")
	var so struct {
		ScaleTargetRef struct {
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		Triggers []struct {
			Type     string            `yaml:"type"`
			Metadata map[string]string `yaml:"metadata"`
		} `yaml:"triggers"`
	}
	decodeSpec(t, k["ScaledObject"], &so)

	deps := readManifests(t, filepath.Join("k8s", "deployment.yaml"))
	require.Equal(t, deps["Deployment"].Metadata.Name, so.ScaleTargetRef.Name)
	require.Len(t, so.Triggers, 1)
	tr := so.Triggers[0]
	require.Equal(t, "nats-jetstream", tr.Type)
	require.Equal(t, "IMAGES", tr.Metadata["stream"], "WORKER_STREAM's default")
	require.Equal(t, "image-predictor", tr.Metadata["consumer"], "WORKER_CONSUMER's default")
	require.NotEmpty(t, tr.Metadata["lagThreshold"])
	require.NotEmpty(t, tr.Metadata["natsServerMonitoringEndpoint"])
}

func TestComposeRunsNATSWorkerAndTail(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	readDoc(t, "docker-compose.yml", &compose)
	require.Contains(t, compose.Services, "nats")
	require.Contains(t, compose.Services["nats"].Command, "-js", "JetStream on")
	for _, name := range []string{"worker", "tail"} {
		require.Contains(t, compose.Services, name)
		require.Equal(t, "nats://nats:4222", compose.Services[name].Environment["NATS_URL"], name)
	}
	require.Equal(t, compose.Services["worker"].Image, compose.Services["tail"].Image)
	require.Equal(t, []string{"tail"}, compose.Services["tail"].Command)
}

func readDoc(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}
