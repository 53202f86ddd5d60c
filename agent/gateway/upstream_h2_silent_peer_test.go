package gateway

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
)

// freezableRelay forwards connections from its listener to target until
// frozen; then it forwards nothing and closes nothing, as a host that froze
// or was cut off from the network (no FIN, no RST ever comes).
type freezableRelay struct {
	ln     net.Listener
	target string
	frozen chan struct{}
}

func startRelay(t *testing.T, addr, target string) *freezableRelay {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	r := &freezableRelay{ln: ln, target: target, frozen: make(chan struct{})}
	done := make(chan struct{})
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go r.pipe(out, in, done)
			go r.pipe(in, out, done)
		}
	}()
	return r
}

func (r *freezableRelay) pipe(dst, src net.Conn, done chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-r.frozen:
			<-done // swallow everything, answer nothing
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *freezableRelay) freeze() { close(r.frozen) }

// An https upstream that speaks HTTP/2 shares one connection among all
// requests. When its host goes silent (frozen, cut off: nothing closes the
// connection) and its name moves to a new address, the gateway must stop
// using the silent connection and dial the name again: Go's HTTP/2 client
// keeps a connection whose requests time out, so every request met the
// upstream timeout until TCP gave up, some fifteen minutes. Oracle: the
// HTTP/2 PING health check (RFC 9113 §6.7; Go's http.HTTP2Config
// SendPingTimeout and PingTimeout, which registry/client sets for home),
// and nginx's keepalive module, which never reuses a connection whose
// read timed out.
func TestGatewayLeavesASilentHTTP2UpstreamConnection(t *testing.T) {
	dns := testenv.UseDNS(t)
	const name = "portolan-silent-h2-app"
	certs := newTestCerts(t)
	chain, key, err := certs.ca.Issue(pki.Leaf{Role: pki.RoleServer, DNSNames: []string{name}}, time.Now())
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	app := func(ln net.Listener, body string) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, body+" "+r.Proto)
		}))
		srv.Listener.Close()
		srv.Listener = ln
		srv.EnableHTTP2 = true
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		srv.StartTLS()
		t.Cleanup(srv.Close)
	}
	oldLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	app(oldLn, "old")
	relay := startRelay(t, "127.0.0.2:0", oldLn.Addr().String())
	_, port, err := net.SplitHostPort(relay.ln.Addr().String())
	require.NoError(t, err)
	newLn, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", port))
	require.NoError(t, err)
	app(newLn, "new")
	dns.Set(name, netip.MustParseAddr("127.0.0.2"))

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, "https://"+net.JoinHostPort(name, port), f.placement(f.premium),
		Config{UpstreamTimeout: 500 * time.Millisecond, TLS: TLS{UpstreamCAFile: certs.caFile}})
	require.Equal(t, "old HTTP/2.0", call(t, "GET", gw+"/?user_key=premium-key", nil).body)

	relay.freeze()
	dns.Set(name, netip.MustParseAddr("127.0.0.3"))
	require.Eventually(t, func() bool {
		return call(t, "GET", gw+"/?user_key=premium-key", nil).body == "new HTTP/2.0"
	}, 20*time.Second, 200*time.Millisecond, "requests still went to the silent connection")
}
