package gateway

import (
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// TestGatewayUnderANewIDIsNeverItsOwnRoute: an agent whose id home held
// for another join token registers under a new one (agent/instanceid.go).
// The map then lists the gateway's own instance under that id; while the
// map and the gateway's placement disagree (a placement changing), a plan
// the map says it serves and its view does not must go to another
// instance, never back to its own app as if it were a peer's.
func TestGatewayUnderANewIDIsNeverItsOwnRoute(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	local, _ := echoUpstream(t, "local")
	peer, _ := echoUpstream(t, "peer")
	g, gw, _ := startTestGateway(t, f, local.URL, f.placement(f.basic), Config{})
	at := func(id string, srv *httptest.Server) registry.MapInstance {
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
		n, _ := strconv.Atoi(port)
		return registry.MapInstance{ID: id, Service: "newsapi", Address: host, Port: n, Status: registry.StatusPassing,
			Plans: []registry.PlanRef{{ID: f.premium.ID}}}
	}
	g.SetMap(&registry.Map{Services: []registry.MapService{{Name: "news", ID: f.svc.ID, Instances: []registry.MapInstance{
		at("self-renamed", local), at("p1", peer),
	}}}})
	g.SetSelf("self-renamed")
	for range 4 {
		a := call(t, "GET", gw+"/?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "peer", a.body, "the plan goes to the peer alone, never to this instance's own app")
	}
}
