package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// An exec health check never sees the agent's secret variables, even when
// its probe is built on its own.
func TestExecCheckGetsNoAgentSecretVariable(t *testing.T) {
	const joinToken = "ptj1.check-id.check-join-secret.sha256-pin"
	const mgmtToken = "check-admin-access-token"
	t.Setenv("PORTOLAN_AGENT_TOKEN", joinToken)
	t.Setenv("PORTOLAN_AGENT_MGMT_TOKEN", mgmtToken)

	probe, err := CheckConfig{Exec: "sh -c env"}.build()
	require.NoError(t, err)
	_, out := probe(context.Background())
	assert.NotContains(t, out, joinToken, "the exec check must not see the agent's join token (PORTOLAN_AGENT_TOKEN)")
	assert.NotContains(t, out, mgmtToken, "the exec check must not see the management proxy's admin token (PORTOLAN_AGENT_MGMT_TOKEN)")
}

// The agent runs its exec health check with CMD's environment: a secret
// under a name of the operator's, and Consul's token variable with
// --consul, are withheld as from CMD; the app's own variables stay.
func TestExecCheckRunsWithTheCommandsEnvironment(t *testing.T) {
	const joinToken = "ptj1.check-id.check-join-secret.sha256-pin"
	const consulToken = "the-agents-consul-token"
	t.Setenv("MY_JOIN_TOKEN", joinToken)
	t.Setenv("CONSUL_HTTP_TOKEN", consulToken)
	t.Setenv("APP_SETTING", "kept")
	a := &Agent{cfg: Config{Token: joinToken, Consul: "http://127.0.0.1:8500", ConsulToken: consulToken,
		Check: CheckConfig{Exec: "sh -c env"}}, log: zerolog.Nop()}
	a.probe, _ = a.cfg.Check.build()

	_, out := a.checkProbe()(context.Background())
	assert.NotContains(t, out, joinToken, "a variable holding the join token is withheld")
	assert.NotContains(t, out, consulToken, "with --consul, CONSUL_HTTP_TOKEN is the agent's")
	assert.Contains(t, out, "APP_SETTING=kept", "the app's own variables reach its check")
}

// testHome is the registry's real agent API on a test server, as
// registry/client's tests run it; agents join it with "agent-token".
func testHome(t *testing.T) string {
	t.Helper()
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	store := headStore{composition.NewHead(composition.New(), nop, nil)}
	signer, err := registry.LoadSigner(t.TempDir())
	require.NoError(t, err)
	reg, err := registry.New(registry.Config{Store: store, Signer: signer, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = reg.Run(ctx); close(done) }()
	srv := httptest.NewServer(reg.Handler(registry.Access{BootstrapToken: "agent-token", Admin: func(*http.Request) bool { return false }}))
	t.Cleanup(func() { cancel(); <-done; srv.Close(); _ = store.Close() })
	return srv.URL
}

// headStore is a composition.Head as the registry's store.
type headStore struct{ *composition.Head }

func (m headStore) Close() error { m.Head.Close(); return nil }

// Home takes the heartbeat of a passing app whose check prints more
// non-ASCII text than an output may hold: the agent cuts it at a character
// boundary, within home's bound as home measures it.
func TestLongNonASCIICheckOutputIsAcceptedByHome(t *testing.T) {
	script := filepath.Join(t.TempDir(), "check.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nprintf x\ni=0\nwhile [ $i -lt 3000 ]; do printf '\\303\\251'; i=$((i+1)); done\nexit 0\n"), 0o755))
	probe, err := CheckConfig{Exec: script}.build()
	require.NoError(t, err)
	status, out := probe(context.Background())
	require.Equal(t, registry.StatusPassing, status)
	out = boundOutput(out) // as runChecks bounds it

	c, err := client.New(client.Config{Address: testHome(t), Token: "agent-token", Timeout: 5 * time.Second})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Register(ctx, "news-check-1", &registry.Registration{Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusPassing, Output: out})
	require.NoError(t, err, "home takes the registration of a passing app whose check prints non-ASCII text")
	_, err = c.Heartbeat(ctx, "news-check-1", &registry.Heartbeat{Status: status, Output: out})
	assert.NoError(t, err, "home takes the heartbeat of a passing app whose check prints non-ASCII text")
}

// A check's output is made valid UTF-8 and cut at a character boundary
// within registry.MaxOutputLen bytes; a short valid one is kept as it is.
func TestBoundOutputCutsAtACharacterBoundary(t *testing.T) {
	assert.Equal(t, "ok é", boundOutput("ok é"))
	long := "x" + strings.Repeat("é", registry.MaxOutputLen)
	got := boundOutput(long)
	assert.True(t, utf8.ValidString(got))
	assert.Len(t, got, registry.MaxOutputLen-1, "the last whole character within the bound")
	invalid := strings.Repeat("\xff", 2*registry.MaxOutputLen)
	got = boundOutput(invalid)
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), registry.MaxOutputLen)
}
