package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// appAt serves name's answers on ip:port (port "0": any) until closed.
func appAt(t *testing.T, ip netip.Addr, port, name string) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), port))
	require.NoError(t, err)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, name)
	}))
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// The gateway's upstream is a name (--upstream http://app:3000, as in
// Docker Compose). Its name does not resolve while the app's container is
// not up: requests fail (502) and the gateway goes on; once it resolves,
// they reach the app. The app's container restarts with a new address,
// its name moving to it: the gateway reaches the new one, never keeping
// to the old one. Oracle: the known nginx pitfall to avoid ("If the domain
// name is passed in the proxy_pass directive ... NGINX resolves the IP
// address of the host only once after the start", until reloaded), where
// APIcast resolves at request time with a resolver honouring TTLs; as Go's
// net/http Transport, a kept-alive connection the old app closed is
// dropped, and the next dial resolves the name again.
func TestGatewayFollowsUpstreamNameToItsNewAddress(t *testing.T) {
	dns := testenv.UseDNS(t)
	const name = "portolan-app"
	oldIP, newIP := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	old := appAt(t, oldIP, "0", "old")
	_, port, err := net.SplitHostPort(old.Listener.Addr().String())
	require.NoError(t, err)

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, "http://"+net.JoinHostPort(name, port), f.placement(f.premium), Config{})
	require.Equal(t, http.StatusBadGateway, call(t, "GET", gw+"/?user_key=premium-key", nil).status,
		"a name that does not resolve yet fails the request, not the gateway")

	dns.Set(name, oldIP)
	for range 3 { // kept-alive connections to the old app
		a := call(t, "GET", gw+"/?user_key=premium-key", nil)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, "old", a.body)
	}

	// The container restarts: the old app is gone, the name moves.
	old.Close()
	dns.Set(name, newIP)
	appAt(t, newIP, port, "new")
	for range 3 {
		a := call(t, "GET", gw+"/?user_key=premium-key", nil)
		require.Equal(t, http.StatusOK, a.status, "the app at the name's new address should serve: %s", a.body)
		require.Equal(t, "new", a.body)
	}
}

// The app's old address does not close its connections when the name
// moves (its host froze or was cut off: no FIN ever comes). A kept-alive
// connection to it fails at the upstream timeout (504), is not pooled
// again, and the next request dials the name afresh: the gateway does
// not keep sending to the dead address. Oracle: nginx's keepalive module
// never caches a connection of a failed try or whose read timed out
// (ngx_http_upstream_keepalive_module.c, free_keepalive_peer: NGX_PEER_FAILED
// or c->read->timedout goes to "invalid"), and its next try connects anew.
func TestGatewayLeavesUpstreamsFrozenOldAddress(t *testing.T) {
	dns := testenv.UseDNS(t)
	const name = "portolan-frozen-app"
	oldIP, newIP := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	frozen := make(chan struct{})
	ln, err := net.Listen("tcp", net.JoinHostPort(oldIP.String(), "0"))
	require.NoError(t, err)
	old := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-frozen: // never answers again
			<-r.Context().Done()
		default:
			_, _ = io.WriteString(w, "old")
		}
	}))
	old.Listener = ln
	old.Start()
	t.Cleanup(old.Close)
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	dns.Set(name, oldIP)

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, "http://"+net.JoinHostPort(name, port), f.placement(f.premium),
		Config{UpstreamTimeout: 300 * time.Millisecond})
	require.Equal(t, "old", call(t, "GET", gw+"/?user_key=premium-key", nil).body)

	close(frozen)
	dns.Set(name, newIP)
	appAt(t, newIP, port, "new")
	// One request per connection the old app holds (one: the calls above
	// are sequential) may meet it; every later one reaches the new app.
	first := call(t, "GET", gw+"/?user_key=premium-key", nil)
	if first.body != "new" {
		require.Equal(t, http.StatusGatewayTimeout, first.status, "a connection to the frozen address times out: %s", first.body)
	}
	for range 3 {
		a := call(t, "GET", gw+"/?user_key=premium-key", nil)
		require.Equal(t, http.StatusOK, a.status, "the app at the name's new address should serve: %s", a.body)
		require.Equal(t, "new", a.body)
	}
}
