package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

const chart = "helm/portolan"

// helmBinary returns Helm: $PORTOLAN_HELM_BIN, or .tools/helm at the
// repository root. When it is missing the test is skipped, except under
// CI=true, where it fails: CI must build it (make helm).
func helmBinary(t *testing.T) string {
	t.Helper()
	testenv.SkipShort(t)
	p := os.Getenv("PORTOLAN_HELM_BIN")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "..", ".tools", "helm")
	}
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "no helm binary at "+p+" (run `make helm`, or set PORTOLAN_HELM_BIN): "+err.Error())
	}
	return p
}

// helm runs Helm with its configuration, cache and data in the test's
// temporary directory; it returns stdout, stderr and the error.
func helm(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// chartSets are the value sets the chart is rendered with: none (the
// defaults) and the files of ci/.
var chartSets = map[string]struct {
	values string
	want   setExpect
}{
	"defaults": {want: setExpect{coordinators: 1}},
	"tls existing secret": {values: "ci/tls-existing-secret-values.yaml",
		want: setExpect{coordinators: 1, externalSecrets: []string{"portolan-coordinator-tls", "portolan-tokens"}}},
	"consul, three coordinators": {values: "ci/consul-values.yaml",
		want: setExpect{coordinators: 3, consul: true, externalSecrets: []string{"portolan-coordinator-tls", "portolan-consul"}}},
	"servicemonitor and resources": {values: "ci/monitoring-values.yaml",
		want: setExpect{coordinators: 1, serviceMonitor: true}},
}

func TestHelmChart(t *testing.T) {
	bin := helmBinary(t)
	help := &flagHelp{bin: testenv.Binary(t)}
	entries, err := os.ReadDir(filepath.Join(chart, "ci"))
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, set := range chartSets {
		tested[set.values] = true
	}
	for _, e := range entries {
		if !tested["ci/"+e.Name()] {
			t.Errorf("ci/%s is in no set this test renders", e.Name())
		}
	}
	for name, set := range chartSets {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "portolan", chart, "--namespace", "portolan"}
			lint := []string{"lint", "--strict", chart}
			if set.values != "" {
				args = append(args, "--values", filepath.Join(chart, set.values))
				lint = append(lint, "--values", filepath.Join(chart, set.values))
			}
			out, stderr, err := helm(t, bin, args...)
			if err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr)
			}
			docs, err := decodeAll(name, []byte(out))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			checkSet(t, help, docs, set.want)
			if lintOut, stderr, err := helm(t, bin, lint...); err != nil {
				t.Errorf("helm %s: %v\n%s%s", strings.Join(lint, " "), err, lintOut, stderr)
			}
		})
	}
}

// TestHelmChartRefuses renders the value sets the chart must refuse, and
// checks that the render fails saying why.
func TestHelmChartRefuses(t *testing.T) {
	bin := helmBinary(t)
	for name, c := range map[string]struct {
		args []string
		says string
	}{
		"replicas without consul": {[]string{"--values", "testdata/replicas-without-consul-values.yaml"},
			"replicas is 3 but consul.enabled is false"},
		"replicas with consul, own CAs": {[]string{"--set", "replicas=2,consul.enabled=true,tokens.agentToken.enabled=true"},
			"tls.existingSecret is empty"},
		"news example without its join token": {[]string{"--set", "newsExample.enabled=true"},
			"joinTokens has no such entry"},
	} {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := helm(t, bin, append([]string{"template", "portolan", chart}, c.args...)...)
			if err == nil {
				t.Fatalf("rendered:\n%s", out)
			}
			if !strings.Contains(stderr, c.says) {
				t.Errorf("stderr %q does not say %q", stderr, c.says)
			}
		})
	}
}
