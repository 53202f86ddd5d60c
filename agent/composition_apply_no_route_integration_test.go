package agent_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// A home (or a proxy in front of it) without the route for an image's
// documents answers 404 while the heartbeats pass: the agent keeps
// retrying, and says so once, rather than retrying in silence (a
// --wait-home would wait out its time with nothing saying why).
func TestImageDocumentsWithoutARouteAtHomeAreSaidOnce(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "news"}).Token
	target, err := url.Parse(co.URL)
	require.NoError(t, err)
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, registry.PathImageComposition) {
			http.NotFound(w, r) // a proxy that knows only the older routes
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	a := testenv.StartAgentAt(t, proxy.URL, "--token", tok, "--service", "news", "--composition", imageDir(t, 1, 100, ""),
		"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
	const said = "has no route for image documents"
	logged(t, a, said)
	time.Sleep(2 * time.Second) // some ten tries more
	assert.Equal(t, 1, strings.Count(a.Output.String(), said), "said once:\n%s", a.Output.String())
	assert.Equal(t, registry.StatusPassing, statusOf(t, co, a.ID()), "the instance is registered and passing all along")
}
