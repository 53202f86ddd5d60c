package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestGatewayWireRequestTargets(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	// Absolute-form: the path and query are forwarded, to the app's host.
	_, seen := wtServed(t, addr, app, "GET http://example.com/x?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "/x?"+wtKey, seen.uri)
	assert.Equal(t, strings.TrimPrefix(app.url, "http://"), seen.host)

	// Asterisk-form: OPTIONS * is answered by net/http itself, never by the
	// gateway; the connection goes on.
	wc := wtDial(t, addr)
	wc.send("OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n" + wtGet("/after"))
	a := wc.read("OPTIONS")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, int64(0), a.length)
	assert.Equal(t, "GET /after ", wc.read("GET").body)

	// With another method, * is a path the gateway checks like any other.
	wc.send("GET * HTTP/1.1\r\nHost: gw\r\n\r\n")
	a = wc.read("GET")
	assert.Equal(t, 403, a.status)
	assert.Equal(t, "Authentication parameters missing\n", a.body)
	wc.send("DELETE * HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, 403, wc.read("DELETE").status)
	assert.Len(t, app.seen(), 2)

	// An asterisk with a query, and a relative path: 400.
	wtRefused(t, addr, app, "GET *?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n", 400)
	wtRefused(t, addr, app, "GET x?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n", 400)

	// Absolute-form with any scheme is accepted by net/http; authority-form
	// outside CONNECT parses as a scheme and an opaque part: no path, so no
	// mapping rule matches.
	_, seen = wtServed(t, addr, app, "GET ftp://user@h/y?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "/y?"+wtKey, seen.uri)
	_, seen = wtServed(t, addr, app, "GET x:/z?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "/z?"+wtKey, seen.uri)
	wc = wtDial(t, addr)
	wc.send("GET gw:80?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n")
	a = wc.read("GET")
	assert.Equal(t, 404, a.status)
	assert.Equal(t, "No Mapping Rule matched\n", a.body)

	// CONNECT gets no tunnel: nginx's 405 before any check, and the end of
	// the connection (wire_trace_connect_test.go).
	wc = wtDial(t, addr)
	wc.send("CONNECT gw:443 HTTP/1.1\r\nHost: gw:443\r\n\r\n")
	a = wc.read("CONNECT")
	assert.Equal(t, 405, a.status)
	assert.True(t, a.close)
	assert.Equal(t, []string{"GET /x?" + wtKey, "GET /after?" + wtKey, "GET /y?" + wtKey, "GET /z?" + wtKey}, app.requests())
}

// Paths are forwarded as sent: the gateway does not decode them; what
// net/http cannot parse is a 400, and so are dot segments and control
// bytes, raw or encoded (target.go). A raw control byte never reaches the
// app.
func TestGatewayWireHostilePaths(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, c := range []struct {
		target string
		uri    string // as the app received it; "" when refused with 400
		path   string // as the app decoded it
	}{
		{"/a%2fb", "/a%2fb", "/a/b"},
		{"//double", "//double", "//double"},
		{"/a...b/...", "/a...b/...", "/a...b/..."}, // dots that are no dot segment
		{"/.well-known/x", "/.well-known/x", "/.well-known/x"},
		{"/a#frag", "/a%23frag", "/a#frag"},          // net/http keeps a fragment in the path; it is forwarded escaped
		{"/caf\xc3\xa9", "/caf%C3%A9", "/caf\u00e9"}, // raw UTF-8 is escaped on the way
		{"/../etc/passwd", "", ""},
		{"/a/./b", "", ""},
		{"/a/.", "", ""},
		{"/%2e%2e/x", "", ""},
		{"/a%2f..%2fb", "", ""},
		{"/a\\..\\b", "", ""},
		{"/a%00b", "", ""},
		{"/a%0d%0aX-Injected:%20x", "", ""},
		{"/a%7f", "", ""},
		{"/%zz", "", ""},
		{"/a%", "", ""},
		{"/a\x00b", "", ""},
		{"/a\x01b", "", ""},
		{"/a\x7fb", "", ""},
		{"/a\tb", "", ""},
		{"/a\rb", "", ""},
		{"/a b", "", ""},
	} {
		t.Run(fmt.Sprintf("%q", c.target), func(t *testing.T) {
			raw := "GET " + c.target + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n"
			if c.uri == "" {
				before := len(app.seen())
				wc := wtDial(t, addr)
				wc.send(raw)
				assert.Equal(t, 400, wc.read("GET").status)
				assert.Len(t, app.seen(), before, "nothing reaches the app")
				return
			}
			_, seen := wtServed(t, addr, app, raw)
			assert.Equal(t, c.uri+"?"+wtKey, seen.uri)
			assert.Equal(t, c.path, seen.path)
			assert.Empty(t, seen.header["X-Injected"])
		})
	}
	for _, s := range app.seen() {
		for _, b := range []byte(s.uri) {
			assert.False(t, b < ' ' || b == 0x7f, "a raw control byte reached the app: %q", s.uri)
		}
	}
}

// startArticlesGateway starts an app and a gateway whose only rule is GET
// /articles, a prefix rule; it returns the gateway's address, the app and
// the gateway's metrics.
func startArticlesGateway(t *testing.T) (string, *wtApp, *prometheus.Registry) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	for _, r := range f.tx.View().MappingRules.All() {
		n := *r
		n.Pattern = "/articles"
		require.NoError(t, f.tx.Update(&n))
	}
	app := newWtApp(t)
	_, gw, reg := startTestGateway(t, f, app.url, f.placement(f.premium), Config{})
	return strings.TrimPrefix(gw, "http://"), app, reg
}

// Under a prefix rule, a path that climbs out of it with dot segments, as
// sent or encoded in any case, is refused before matching and never
// reaches the app (which would resolve it to /admin/secret), whichever
// server loop reads it (the lean one takes plain dots, net/http the
// escaped ones).
func TestGatewayWireDotSegmentsUnderAPrefixRule(t *testing.T) {
	addr, app, reg := startArticlesGateway(t)
	_, seen := wtServed(t, addr, app, wtGet("/articles/42"))
	assert.Equal(t, "/articles/42", seen.path)
	a := func(target string) wtAnswer {
		wc := wtDial(t, addr)
		wc.send(wtGet(target))
		return wc.read("GET")
	}
	assert.Equal(t, 404, a("/admin/secret").status, "outside the rule")

	attacks := []string{
		"/articles/../admin/secret",
		"/articles/%2e%2e/admin/secret",
		"/articles/%2E%2E/admin/secret",
		"/articles/%2e%2E/admin/secret",
		"/articles/.%2e/admin/secret",
		"/articles/%2e./admin/secret",
		"/articles/..%2fadmin/secret",
		"/articles%2f..%2fadmin/secret",
		"/articles/./../admin/secret",
		"/articles/%2e/x",
		"/articles/.",
		"/articles/..",
		"/articles/a/../../admin/secret",
		"/articles/..\\admin/secret",
	}
	for _, target := range attacks {
		ans := a(target)
		assert.Equal(t, 400, ans.status, "%s: %q", target, ans.body)
	}
	assert.Equal(t, float64(len(attacks)), requests(reg, "bad_request"))
	require.Len(t, app.seen(), 1, "the app never sees a path other than the one matched")
	app.assertNothingLike(t, "admin")
}

// Control bytes in the target, raw or percent-encoded in the path, and %00
// in the query: 400, never forwarded. Encoded line ends in the query are
// values the app may take (a newline in a form field): forwarded encoded.
func TestGatewayWireControlBytesInTheTarget(t *testing.T) {
	addr, app, reg := startArticlesGateway(t)
	refused := []string{"/articles/a%00", "/articles/%0a", "/articles/%0D%0AX:%20y", "/articles/%7F", "/articles/%1b[0m", "/articles?x=%00"}
	for _, target := range refused {
		wc := wtDial(t, addr)
		wc.send("GET " + target + "&" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n")
		assert.Equal(t, 400, wc.read("GET").status, target)
	}
	assert.Equal(t, float64(len(refused)), requests(reg, "bad_request"))
	for _, raw := range []string{"/articles/a\x00", "/articles/\x1b", "/articles?x=\x00"} {
		wtRefused(t, addr, app, "GET "+raw+"&"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n", 400)
	}
	assert.Empty(t, app.seen())
	_, seen := wtServed(t, addr, app, "GET /articles?text=a%0Ab&"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "text=a%0Ab&"+wtKey, seen.rawQuery)
}

// Methods are case-sensitive (RFC 9110 §9.1): a GET rule does not match
// "get" or "Get", on either server loop; an ANY rule matches any token.
func TestGatewayWireMethodCase(t *testing.T) {
	addr, app := startWtGateway(t, Config{})
	for _, method := range []string{"get", "Get", "gET"} {
		for _, target := range []string{"/lower", "/lower%41"} { // lean loop, net/http
			wc := wtDial(t, addr)
			wc.send(method + " " + target + "?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n\r\n")
			a := wc.read(method)
			assert.Equal(t, 404, a.status, "%s %s", method, target)
			assert.Equal(t, "No Mapping Rule matched\n", a.body)
		}
	}
	assert.Empty(t, app.seen())

	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "any", Pattern: "/any", Delta: 1}))
	app = newWtApp(t)
	_, gw, _ := startTestGateway(t, f, app.url, f.placement(f.premium), Config{})
	_, seen := wtServed(t, strings.TrimPrefix(gw, "http://"), app, "get /any?"+wtKey+" HTTP/1.1\r\nHost: gw\r\n\r\n")
	assert.Equal(t, "get", seen.method, "forwarded as sent")
}
