package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// A start period turns failures into "starting" warnings until the first
// pass or its end, whichever comes first, and never again after that.
func TestStartPeriodCountsFailuresAsStartingUntilAPassOrItsEnd(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	p := &startPeriod{until: t0.Add(30 * time.Second)}
	status, out := p.count(t0, registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusWarning, status)
	assert.Equal(t, "starting: connection refused", out)
	status, _ = p.count(t0.Add(time.Second), registry.StatusPassing, "ok")
	assert.Equal(t, registry.StatusPassing, status, "the first pass ends it")
	status, out = p.count(t0.Add(2*time.Second), registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusCritical, status, "after a pass, failures count at once")
	assert.Equal(t, "connection refused", out)

	late := &startPeriod{until: t0.Add(30 * time.Second)}
	status, _ = late.count(t0.Add(30*time.Second), registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusCritical, status, "its end ends it")

	none := &startPeriod{until: t0} // --check-start-period 0
	status, _ = none.count(t0, registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusCritical, status, "no period: the first failure counts")
}

// The output of an HTTP check goes to home, the service map every
// instance reads and the unauthenticated local API: it names the URL
// without the password or query the URL may hold, whether the app answers
// or cannot be reached.
func TestHTTPCheckOutputHoldsNoCredentialOfItsURL(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "probe" || p != "s3cret-pass" || r.URL.Query().Get("token") != "s3cret-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer app.Close()
	withCreds := strings.Replace(app.URL, "http://", "http://probe:s3cret-pass@", 1) + "/health?token=s3cret-token"

	probe, err := CheckConfig{HTTP: withCreds}.build()
	require.NoError(t, err)
	status, out := probe(context.Background())
	assert.Equal(t, registry.StatusPassing, status, out)
	assert.Contains(t, out, strings.TrimPrefix(app.URL, "http://")+"/health")
	assert.NotContains(t, out, "s3cret")

	app.Close() // unreachable now: the error names the URL too
	status, out = probe(context.Background())
	assert.Equal(t, registry.StatusCritical, status, out)
	assert.NotContains(t, out, "s3cret")

	assert.NotContains(t, CheckConfig{HTTP: withCreds}.describe(), "s3cret", "the registration's check")
}

// Home's service map, its console and the local API show an exec check by
// its program alone: its arguments, or a VAR=value before it, may hold a
// password.
func TestExecCheckIsShownWithoutItsArguments(t *testing.T) {
	for command, want := range map[string]string{
		"redis-cli -a s3cret ping":     "exec redis-cli …",
		"  /bin/healthy  ":             "exec /bin/healthy",
		"PGPASSWORD=s3cret pg_isready": "exec (command)",
		"   ":                          "exec (command)",
	} {
		assert.Equal(t, want, CheckConfig{Exec: command}.describe(), command)
	}
}
