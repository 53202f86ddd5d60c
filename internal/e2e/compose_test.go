package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
)

// healthyTimeout bounds the wait for Docker's health checks: the images
// check every 10 s, so a container is healthy some 10 s after it passes.
const healthyTimeout = 90 * time.Second

// composeRun is deploy/compose/docker-compose.yml under a project name of
// its own, on the images BuildImages built and a free host port.
type composeRun struct {
	t       testing.TB
	bin     string
	file    string
	project string
	env     []string
}

// run runs docker-compose with args and extra environment, and returns its
// standard output, trimmed.
func (c *composeRun) run(extra []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"-f", c.file, "-p", c.project}, args...)...)
	cmd.Env = append(append(os.Environ(), c.env...), extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker-compose %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func (c *composeRun) must(extra []string, args ...string) string {
	c.t.Helper()
	out, err := c.run(extra, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// requireCompose returns the docker-compose binary; without one the test
// is skipped, or fails under CI=true.
func requireCompose(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err == nil {
		return bin
	}
	testenv.Missing(t, fmt.Sprintf("the compose test needs docker-compose: %v", err))
	return ""
}

// The compose file as deploy/README.md runs it: the coordinator comes up
// and its /health/ready answers from the host without a token; with a join
// token per pool the three agents come up; Docker's health check of every
// container (the images' HEALTHCHECK, portolan status) turns healthy; down
// -v removes it all.
func TestComposeComesUpHealthy(t *testing.T) {
	RequireDocker(t)
	bin := requireCompose(t)
	imgs := BuildImages(t)
	_, port, err := net.SplitHostPort(testenv.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	c := &composeRun{
		t: t, bin: bin, file: filepath.Join(repoRoot(), "deploy", "compose", "docker-compose.yml"),
		project: "pe2e-compose-" + randomHex(4),
		env: []string{"PORTOLAN_COMPOSE_IMAGE=" + imgs.Portolan, "PORTOLAN_COMPOSE_NEWSAPI_IMAGE=" + imgs.NewsAPI,
			"PORTOLAN_COMPOSE_PORT=" + port},
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := c.run(nil, "logs", "--no-color", "--tail", "50")
			t.Logf("compose logs:\n%s", logs)
		}
		if _, err := c.run(nil, "down", "-v", "--remove-orphans", "--timeout", "5"); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})

	c.must(nil, "up", "-d", "coordinator")
	coordinator := c.must(nil, "ps", "-q", "coordinator")
	var pin pki.Pin
	waitFor(t, upTimeout, 200*time.Millisecond, "the coordinator logs its CA pin", func() (bool, string) {
		// The log is on the container's stderr: docker logs replays both.
		logs, err := exec.Command("docker", "logs", coordinator).CombinedOutput()
		if err != nil {
			return false, err.Error()
		}
		var ok bool
		pin, ok = caPin(string(logs))
		return ok, "no ca_pin in the log yet"
	})
	hc := pinnedClient(pin)
	base := "https://127.0.0.1:" + port
	waitFor(t, upTimeout, 200*time.Millisecond, "/health/ready answers 200 without a token", func() (bool, string) {
		resp, err := hc.Get(base + "/health/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	token := func(args ...string) string {
		return c.must(nil, append([]string{"exec", "-T", "coordinator", "/portolan", "token", "create",
			"--home", "https://localhost:7070", "--ca-file", "/data/tls/ca.pem", "--token-file", "/data/access_token",
			"--service", "news"}, args...)...)
	}
	c.must([]string{
		"PORTOLAN_JOIN_TOKEN_BASIC=" + token("--label", "pool=basic", "--max-instances", "4"),
		"PORTOLAN_JOIN_TOKEN_PREMIUM=" + token("--label", "pool=premium", "--max-instances", "2"),
	}, "up", "-d")

	ids := strings.Fields(c.must(nil, "ps", "-q"))
	if len(ids) != 4 {
		t.Fatalf("docker-compose ps: %d containers, want the coordinator and three agents: %v", len(ids), ids)
	}
	waitFor(t, healthyTimeout, time.Second, "every container healthy", func() (bool, string) {
		out, err := Docker(append([]string{"inspect", "--format", "{{.Name}} {{.Config.User}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"}, ids...)...)
		if err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || f[1] != "65532:65532" || f[2] != "healthy" {
				return false, out
			}
		}
		return true, out
	})
	resp, err := hc.Get(base + "/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/health/live: %s", resp.Status)
	}
}
