package console_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
)

// These tests put a real coordinator behind a reverse proxy the test runs
// (httputil.ReverseProxy terminating TLS with a certificate of the test's
// own CA, and rewriting Host to the coordinator's address, as nginx's
// proxy_pass does by default), and log in to its console over HTTP as
// browsers without Sec-Fetch-Site do: with Origin alone. Clients bind
// distinct loopback addresses (127.0.0.2, .3, …) so that the proxy sees,
// and forwards, one address per client.

// publicHost is the name operators open home at, in front of the proxy.
const publicHost = "home.test"

// behindProxy is a coordinator and the TLS-terminating proxy in front of it.
type behindProxy struct {
	co    *testenv.Coordinator
	proxy string // the proxy's address; every client dials it for publicHost
	roots *x509.CertPool
}

// startBehindProxy starts the proxy, then a coordinator that knows it
// through --public-url and --trusted-proxies (127.0.0.1: the proxy's
// connections to home come from there).
func startBehindProxy(t *testing.T) *behindProxy {
	t.Helper()
	testenv.SkipShort(t)
	ca, err := pki.NewAuthority("proxy test CA", time.Now())
	require.NoError(t, err)
	chain, key, err := ca.Issue(pki.Leaf{Role: pki.RoleServer, DNSNames: []string{publicHost}}, time.Now())
	require.NoError(t, err)
	cert, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(ca.CertPEM()))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	co := testenv.StartCoordinator(t, "--public-url", "https://"+publicHost, "--trusted-proxies", "127.0.0.1")
	target, err := url.Parse("http://" + co.Addr)
	require.NoError(t, err)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target) // Host becomes the coordinator's, as behind nginx
			// Append to what the client sent, as nginx's
			// $proxy_add_x_forwarded_for does.
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
		},
		Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}).DialContext},
	}
	srv := &http.Server{Handler: rp, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return &behindProxy{co: co, proxy: ln.Addr().String(), roots: roots}
}

// client is an HTTP client from the loopback address from that follows no
// redirect. Through the proxy it reaches https://publicHost; direct, home
// itself.
func (b *behindProxy) client(from string, direct bool) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		if direct {
			return dialer.DialContext(ctx, network, b.co.Addr)
		}
		return dialer.DialContext(ctx, network, b.proxy)
	}
	return &http.Client{
		Transport:     &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: b.roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// login gets the login form from base with hc, then posts token with the
// form's CSRF token and cookie, with the given headers (Origin, a forged
// X-Forwarded-For). It returns the form's answer and the post's.
func login(t *testing.T, hc *http.Client, base, token string, header http.Header) (form, post *http.Response) {
	t.Helper()
	form, err := hc.Get(base + "/ui/login")
	require.NoError(t, err)
	body := readAll(t, form)
	require.Equal(t, http.StatusOK, form.StatusCode, body)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	require.NotNil(t, csrf, "the login form carries a CSRF token")
	req, err := http.NewRequest(http.MethodPost, base+"/ui/login",
		strings.NewReader(url.Values{"csrf": {csrf[1]}, "token": {token}}.Encode()))
	require.NoError(t, err)
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// By hand, as a browser on https://publicHost keeps them: a cookie
	// jar would not send a Secure cookie to home's plain HTTP.
	for _, ck := range form.Cookies() {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	post, err = hc.Do(req)
	require.NoError(t, err)
	readAll(t, post)
	return form, post
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func cookieNamed(resp *http.Response, name string) (*http.Cookie, error) {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck, nil
		}
	}
	return nil, errors.New("no cookie " + name + " in the answer")
}

// Behind a proxy that terminates TLS, home sees plain HTTP under the
// proxy's Host: the public URL makes the console's cookies Secure and is
// the origin its login form is checked against.
func TestConsoleBehindTLSProxySetsSecureCookiesAndChecksThePublicOrigin(t *testing.T) {
	b := startBehindProxy(t)
	hc := b.client("127.0.0.2", false)
	base := "https://" + publicHost
	origin := func(o string) http.Header { return http.Header{"Origin": {o}} }

	for _, foreign := range []string{"https://evil.test", "http://" + publicHost, "http://" + b.co.Addr} {
		_, post := login(t, hc, base, b.co.Token, origin(foreign))
		assert.Equal(t, http.StatusForbidden, post.StatusCode, "a form posted from %s", foreign)
	}

	form, post := login(t, hc, base, b.co.Token, origin(base))
	require.Equal(t, http.StatusSeeOther, post.StatusCode, "a form posted from the public origin, without Sec-Fetch-Site")
	ck, err := cookieNamed(form, "portolan_login")
	require.NoError(t, err)
	assert.True(t, ck.Secure, "the login form's cookie is Secure")
	session, err := cookieNamed(post, "portolan_session")
	require.NoError(t, err)
	assert.True(t, session.Secure, "the session cookie is Secure")
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, session.SameSite)

	req, err := http.NewRequest(http.MethodGet, base+"/ui/", nil)
	require.NoError(t, err)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err := hc.Do(req)
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the session holds through the proxy")
}

// Failed logins are counted by the address the proxy forwards, so one
// guesser behind the proxy does not lock out another operator behind it;
// what a client writes in X-Forwarded-For itself, through the proxy or
// straight to home, never changes the address it is counted under.
func TestFailedLoginsBehindTrustedProxyAreCountedPerClient(t *testing.T) {
	b := startBehindProxy(t)
	base := "https://" + publicHost
	const failures = 10 // console.loginFailures
	guess := func(hc *http.Client, base string, i int) int {
		h := http.Header{"Origin": {"https://" + publicHost}, "X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i+1)}}
		_, post := login(t, hc, base, fmt.Sprintf("guess-%d", i), h)
		return post.StatusCode
	}

	guesser := b.client("127.0.0.2", false)
	for i := range failures {
		require.Equal(t, http.StatusUnauthorized, guess(guesser, base, i), "guess %d through the proxy", i)
	}
	_, post := login(t, guesser, base, b.co.Token, http.Header{"Origin": {base}, "X-Forwarded-For": {"203.0.113.77"}})
	assert.Equal(t, http.StatusTooManyRequests, post.StatusCode, "the guesser is refused whatever X-Forwarded-For it writes")

	operator := b.client("127.0.0.3", false)
	assert.Equal(t, http.StatusUnauthorized, guess(operator, base, 0), "another client behind the proxy has failures of its own")
	_, post = login(t, operator, base, b.co.Token, http.Header{"Origin": {base}})
	assert.Equal(t, http.StatusSeeOther, post.StatusCode, "and logs in")

	// Straight to home, from a peer that is no trusted proxy, the header
	// is ignored: every guess counts against the peer.
	direct := b.client("127.0.0.4", true)
	home := "http://" + b.co.Addr
	for i := range failures {
		require.Equal(t, http.StatusUnauthorized, guess(direct, home, i), "direct guess %d", i)
	}
	_, post = login(t, direct, home, b.co.Token, http.Header{"Origin": {base}, "X-Forwarded-For": {"203.0.113.78"}})
	assert.Equal(t, http.StatusTooManyRequests, post.StatusCode, "a forged X-Forwarded-For from an untrusted peer is ignored")
}
