package gateway

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nonLoopbackIP is an address of this machine off loopback (neither
// loopback nor link-local) that a test server can listen on; ok is false
// when the machine has none.
func nonLoopbackIP(t *testing.T) (netip.Addr, bool) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		n, isNet := a.(*net.IPNet)
		if !isNet {
			continue
		}
		ip, parsed := netip.AddrFromSlice(n.IP)
		if ip = ip.Unmap(); !parsed || !ip.Is4() || ip.IsLoopback() || forbiddenIssuerAddr(ip) {
			continue
		}
		if ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String()); err == nil {
			_ = ln.Close()
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// forwardFrom listens on ip and relays every connection to target byte
// for byte, so that a loopback test server (TLS or not) is reached through
// an address off loopback. It returns the listener's host:port.
func forwardFrom(t *testing.T, ip netip.Addr, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	require.NoError(t, err)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	track := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, cs...)
		return !closed
	}
	relay := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.(*net.TCPConn).CloseWrite()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			if !track(c, up) {
				_, _ = c.Close(), up.Close()
				return
			}
			wg.Add(2)
			go relay(up, c)
			go relay(c, up)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// offLoopback is where the test reaches ci off loopback: through a relay
// on an address of this machine, or, when it has none, at an address of
// TEST-NET-1 (RFC 5737) where nothing answers. reachable says which.
func offLoopback(t *testing.T, ci *craftIssuer) (hostport string, reachable bool) {
	t.Helper()
	ip, ok := nonLoopbackIP(t)
	if !ok {
		t.Log("no address off loopback on this machine: the issuer is named at 192.0.2.1, where nothing answers")
		return "192.0.2.1:9", false
	}
	return forwardFrom(t, ip, ci.srv.Listener.Addr().String()), true
}

// DESIGN.md: HTTPS everywhere off loopback. A discovery document or key
// set read in clear from another host lets anyone on the way serve their
// own keys and mint tokens the gateway accepts: an issuer endpoint or a
// jwks_uri over plain HTTP off loopback is refused, before anything is
// read, and the service fails closed as for any issuer it cannot
// discover (APIcast's "Authentication failed", oidc_issuer_unavailable),
// the error naming the endpoint, why, and the way out.
func TestOIDCPlainHTTPIssuerOffLoopbackIsRefused(t *testing.T) {
	ci := startCraftIssuer(t, false)
	front, reachable := offLoopback(t, ci)
	endpoint := "http://" + front + "/realms/craft"
	og := startOIDCGatewayAt(t, endpoint, "", nil, nil)
	start := time.Now()
	og.refusedAll(t, map[string]string{"issuer endpoint off loopback": ci.Token(t, "RS256", ci.Claims("premium-key"))})
	assert.Less(t, time.Since(start), 2*time.Second, "refused without waiting on the network")
	assert.Equal(t, 1.0, policyEvents(og.reg, "apicast", "oidc_issuer_unavailable"))
	err := discoveryErr(t, og, endpoint)
	require.Error(t, err)
	for _, want := range []string{endpoint, "plain HTTP", "loopback", "https", "--oidc-insecure-issuers"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "s3cret", "the endpoint's credentials are never shown")
	assert.Zero(t, ci.discoveryFetches.Load(), "nothing is read in clear off loopback (relay reachable: %v)", reachable)

	// A jwks_uri off loopback, named by a loopback issuer.
	ci2 := startCraftIssuer(t, false)
	front2, _ := offLoopback(t, ci2)
	ci2.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
		d := ci2.Document()
		d["jwks_uri"] = "http://" + front2 + "/realms/craft/certs"
		writeCraftJSON(w, d)
	})
	og2 := startOIDCGatewayAt(t, ci2.URL, "", nil, nil)
	og2.refusedAll(t, map[string]string{"jwks_uri off loopback": ci2.Token(t, "RS256", ci2.Claims("premium-key"))})
	err = discoveryErr(t, og2, ci2.URL)
	require.Error(t, err)
	for _, want := range []string{"jwks_uri", front2, "loopback", "--oidc-insecure-issuers"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Zero(t, ci2.jwksFetches.Load(), "the clear-text key set is never read")

	// A name cannot be judged before it resolves: the connection is.
	// Whatever led the issuer client there, plain HTTP to an address off
	// loopback is refused when dialling.
	resp, err := og.g.oidc.client.Get("http://" + front + "/realms/craft/.well-known/openid-configuration")
	if resp != nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "plain HTTP dialled off loopback")
	assert.Contains(t, err.Error(), "loopback")
	assert.Zero(t, ci.discoveryFetches.Load())
}

// Loopback stays open to plain HTTP by address or by a name resolving to
// it (an issuer beside the agent), and HTTPS reaches any address that is
// not link-local, here an address of this machine off loopback.
func TestOIDCLoopbackNamesAndHTTPSOffLoopbackStayAllowed(t *testing.T) {
	ci := startCraftIssuer(t, false)
	byName := strings.Replace(ci.URL, "127.0.0.1", "localhost", 1)
	og := startOIDCGatewayAt(t, byName, "", nil, nil)
	a := call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "RS256", ci.Claims("premium-key"))))
	assert.Equal(t, http.StatusOK, a.status, "plain HTTP to localhost: %s", a.body)

	ip, ok := nonLoopbackIP(t)
	if !ok {
		t.Log("no address off loopback on this machine: HTTPS off loopback is not exercised")
		return
	}
	cs := startCraftIssuer(t, true)
	front := forwardFrom(t, ip, cs.srv.Listener.Addr().String())
	og = startOIDCGatewayAt(t, "https://"+front+"/realms/craft", "", func(x *oidcIssuers) {
		trusting(cs)(x)
		x.transport.TLSClientConfig.ServerName = "example.com" // in httptest's certificate, unlike the relay's address
	}, nil)
	a = call(t, "GET", og.base+"/", bearerHeader(cs.Token(t, "ES256", cs.Claims("premium-key"))))
	assert.Equal(t, http.StatusOK, a.status, "HTTPS to %s: %s", front, a.body)
	assert.EqualValues(t, 1, cs.discoveryFetches.Load())
}

// The rule a plain-HTTP connection is dialled under, on the address a name
// resolved to: loopback only, link-local never.
func TestOIDCPlainHTTPDialsLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "127.9.9.9:80", "[::1]:8080", "[::ffff:127.0.0.1]:80"} {
		assert.NoError(t, refuseOffLoopback("tcp", addr, nil), addr)
		assert.NoError(t, refuseLinkLocal("tcp", addr, nil), "%s over TLS", addr)
	}
	for _, addr := range []string{"10.0.0.1:8080", "192.0.2.1:80", "172.17.0.1:8080", "[2001:db8::1]:443", "[::ffff:10.0.0.1]:80"} {
		err := refuseOffLoopback("tcp", addr, nil)
		require.Error(t, err, addr)
		assert.Contains(t, err.Error(), "--oidc-insecure-issuers", addr)
	}
	for _, addr := range []string{"10.0.0.1:443", "192.0.2.1:443", "[2001:db8::1]:443"} {
		assert.NoError(t, refuseLinkLocal("tcp", addr, nil), "%s over TLS", addr)
	}
	for _, addr := range []string{"169.254.169.254:80", "[fe80::1%eth0]:80", "[fd00:ec2::254]:80", "0.0.0.0:80"} {
		err := refuseOffLoopback("tcp", addr, nil)
		require.Error(t, err, addr)
		assert.Contains(t, err.Error(), "link-local", addr)
	}
	assert.Error(t, refuseOffLoopback("tcp", "not an address", nil))
}

// syncBuffer is a log the gateway's goroutines write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The way out (Config.OIDCInsecureIssuers): plain HTTP off loopback is
// allowed, issuer endpoint and jwks_uri, and each such issuer is warned of
// once, however often it is discovered again; one on loopback is not.
func TestOIDCInsecureIssuersAreAllowedAndWarnedOnce(t *testing.T) {
	ci := startCraftIssuer(t, false)
	front, reachable := offLoopback(t, ci)
	logs := &syncBuffer{}
	insecure := func(x *oidcIssuers) {
		x.allowPlainHTTP(zerolog.New(logs))
		x.client.Timeout = time.Second // where nothing answers, when this machine has no address off loopback
		x.keysMaxAge, x.keysMaxStale, x.minRefetch = 50*time.Millisecond, 200*time.Millisecond, 50*time.Millisecond
	}
	endpoint := "http://" + front + "/realms/craft"
	og := startOIDCGatewayAt(t, endpoint, "", insecure, nil)
	tok := ci.Token(t, "RS256", ci.Claims("premium-key"))
	if reachable {
		require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(tok)).status, "issuer at %s", front)
		time.Sleep(300 * time.Millisecond) // the keys go stale: the next request discovers again
		require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(tok)).status)
		assert.EqualValues(t, 2, ci.discoveryFetches.Load(), "discovered twice")
	} else {
		err := discoveryErr(t, og, endpoint)
		require.Error(t, err, "nothing answers at %s", front)
		assert.NotContains(t, err.Error(), "--oidc-insecure-issuers", "tried, not refused")
	}
	warned := strings.Count(logs.String(), "plain HTTP")
	assert.Equal(t, map[bool]int{true: 1, false: 0}[reachable], warned, "warned once per issuer discovered: %s", logs)
	if reachable {
		assert.Contains(t, logs.String(), `"issuer":"`+endpoint+`"`)
		assert.Contains(t, logs.String(), "--oidc-insecure-issuers")
	}

	// A jwks_uri off loopback, named by a loopback issuer.
	ci2 := startCraftIssuer(t, false)
	front2, reachable2 := offLoopback(t, ci2)
	ci2.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
		d := ci2.Document()
		d["jwks_uri"] = "http://" + front2 + "/realms/craft/certs"
		writeCraftJSON(w, d)
	})
	logs2 := &syncBuffer{}
	og2 := startOIDCGatewayAt(t, ci2.URL, "", func(x *oidcIssuers) {
		x.allowPlainHTTP(zerolog.New(logs2))
		x.client.Timeout = time.Second
	}, nil)
	if reachable2 {
		a := call(t, "GET", og2.base+"/", bearerHeader(ci2.Token(t, "ES256", ci2.Claims("premium-key"))))
		assert.Equal(t, http.StatusOK, a.status, "jwks_uri at %s: %s", front2, a.body)
		assert.EqualValues(t, 1, ci2.jwksFetches.Load())
	} else {
		err := discoveryErr(t, og2, ci2.URL)
		require.Error(t, err, "nothing answers at %s", front2)
		assert.NotContains(t, err.Error(), "--oidc-insecure-issuers", "tried, not refused")
	}
	assert.Contains(t, logs2.String(), front2, "the jwks_uri is warned of")

	// On loopback nothing is risked: no warning.
	ci3 := startCraftIssuer(t, false)
	logs3 := &syncBuffer{}
	og3 := startOIDCGatewayAt(t, ci3.URL, "", func(x *oidcIssuers) { x.allowPlainHTTP(zerolog.New(logs3)) }, nil)
	require.Equal(t, http.StatusOK, call(t, "GET", og3.base+"/", bearerHeader(ci3.Token(t, "RS256", ci3.Claims("premium-key")))).status)
	assert.Empty(t, logs3.String())
}
