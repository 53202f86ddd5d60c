package agent

import (
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/internal/testenv"
)

// A --home written as 3scale's toolbox writes its remotes (3scale_toolbox,
// the Remotes doc, "Remote URLS":
// "http[s]://<provider_key>|<access_token>@<3scale-instance-domain>")
// carries a token in its user info. net/http's errors
// quote the request URL and hide only a password (net/http client.go,
// stripPassword: a user name alone is kept), so every failed call would put
// the token in a log line: the registration warning, each debug "composition
// watch", and the CLI's "home at … is unreachable". The trust model
// (DESIGN.md "Trust") logs no token, at any level: home is named without
// its user information.
func TestHomeURLUserInfoNeverLogged(t *testing.T) {
	const secret = "SECRETvalue123"
	addr := testenv.FreeAddr(t)
	home := "http://" + secret + "@" + addr

	cmd := exec.Command(testenv.AgentBinary(t), "--log-level", "debug", "agent", "--home", home, "--token", "SECRETagenttoken456",
		"--service", "news", "--api", "off", "--cache-dir", t.TempDir(), "--placement-file", t.TempDir()+"/placement.json", "--", "sleep", "3")
	out := runBounded(t, cmd, 10*time.Second)
	assert.NotContains(t, out, secret, "the agent's output holds the token of --home")
	assert.NotContains(t, out, "SECRETagenttoken456")
	assert.Contains(t, out, "http://"+addr+"/v1/", "the failed calls name home without the token")

	cmd = exec.Command(testenv.Binary(t), "map", "--home", home, "--token", "SECRETadmintoken789")
	out = runBounded(t, cmd, 10*time.Second)
	assert.NotContains(t, out, secret, "portolan map's output holds the token of --home")
	assert.NotContains(t, out, "SECRETadmintoken789")
	assert.Contains(t, out, "home at http://"+addr+" is unreachable")
}

// runBounded runs cmd, killed after d, and returns its output.
func runBounded(t *testing.T, cmd *exec.Cmd, d time.Duration) string {
	t.Helper()
	buf := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
	}
	return buf.String()
}
