package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

func TestClientAddrBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/24", "fd00::/8"})
	require.NoError(t, err)
	c := &Console{cfg: Config{TrustedProxies: proxies}}
	for _, tc := range []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"an untrusted peer's header is ignored", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted peer without the header is the client", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"a trusted peer's entry is believed", "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"what the client wrote left of it is not", "10.0.0.2:4000", []string{"192.0.2.66, 198.51.100.1"}, "198.51.100.1"},
		{"trusted hops are skipped from the right", "10.0.0.2:4000", []string{"198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"header lines are one list in order", "10.0.0.2:4000", []string{"192.0.2.66", "198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"every hop trusted: the farthest", "10.0.0.2:4000", []string{"10.0.0.5, 10.0.0.3"}, "10.0.0.5"},
		{"an unreadable entry stops at the proxy", "10.0.0.2:4000", []string{"192.0.2.66, unknown"}, "10.0.0.2"},
		{"an unreadable entry stops at the last trusted hop", "10.0.0.2:4000", []string{"192.0.2.66, junk, 10.0.0.3"}, "10.0.0.3"},
		{"an entry with a port", "10.0.0.2:4000", []string{"198.51.100.1:51234"}, "198.51.100.1"},
		{"an IPv6 entry in brackets with a port", "10.0.0.2:4000", []string{"[2001:db8::7]:51234"}, "2001:db8::7"},
		{"an IPv4-mapped entry", "10.0.0.2:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"an IPv6 proxy", "[fd00::1]:4000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"an IPv4-mapped peer is the IPv4 proxy", "[::ffff:10.0.0.2]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{"X-Forwarded-For": tc.xff}}
		got, err := c.clientAddr(r)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got.String(), tc.name)
	}
	without := &Console{}
	got, err := without.clientAddr(&http.Request{RemoteAddr: "10.0.0.2:4000", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}})
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.2", got.String(), "no trusted proxy: the header is never believed")
}

func TestParseTrustedProxiesRefusesWhatTrustsEveryone(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"10.0.0.7", " 192.168.1.9/16 ", "", "::ffff:172.16.0.0/108", "2001:db8::1"})
	require.NoError(t, err)
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	assert.Equal(t, []string{"10.0.0.7/32", "192.168.0.0/16", "172.16.0.0/12", "2001:db8::1/128"}, s)
	for _, bad := range []string{"0.0.0.0/0", "::/0", "proxy.internal", "10.0.0.0/33"} {
		_, err := ParseTrustedProxies([]string{bad})
		assert.Error(t, err, bad)
	}
}

func TestParsePublicURLTakesAnOriginOnly(t *testing.T) {
	for in, want := range map[string]string{
		"https://Home.Example.com":      "https://home.example.com",
		"https://home.example.com/":     "https://home.example.com",
		"https://home.example.com:443":  "https://home.example.com",
		"https://home.example.com:8443": "https://home.example.com:8443",
		"https://[2001:db8::1]:443":     "https://[2001:db8::1]",
		"http://localhost:8080":         "http://localhost:8080",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
	} {
		u, err := ParsePublicURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, u.String(), in)
	}
	for _, bad := range []string{
		"home.example.com", "ftp://home.example.com", "https://", "https://home.example.com/portolan",
		"https://user:pw@home.example.com", "https://home.example.com/?a=1", "http://home.example.com",
	} {
		_, err := ParsePublicURL(bad)
		assert.Error(t, err, bad)
	}
}

// A console behind a proxy that terminates TLS is reached over plain HTTP
// under the proxy's Host: the public URL alone decides that its cookies
// are Secure and which origin may post its forms.
func TestPublicURLMakesCookiesSecureAndIsTheOnlyOrigin(t *testing.T) {
	f := newFleet(t, 1)
	pub, err := ParsePublicURL("https://home.example.com")
	require.NoError(t, err)
	newConsole := func(public *url.URL) *httptest.Server {
		c, err := New(Config{Snapshot: f.store.Snapshot, Map: f.reg, Logger: zerolog.Nop(), PublicURL: public,
			Tokens: threescale.NewStoreTokenChecker(f.store.Snapshot, testToken)})
		require.NoError(t, err)
		srv := httptest.NewServer(c)
		t.Cleanup(srv.Close)
		return srv
	}
	srv := newConsole(pub)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(srv *httptest.Server, header, from string) *http.Response {
		// The cookies travel by hand: a cookie jar sends no Secure cookie
		// over the test's plain HTTP, and the proxy in front would.
		resp, err := hc.Get(srv.URL + Prefix + "login")
		require.NoError(t, err)
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(readBody(t, resp))
		require.NotNil(t, csrf)
		req, err := http.NewRequest(http.MethodPost, srv.URL+Prefix+"login",
			strings.NewReader(url.Values{"csrf": {csrf[1]}, "token": {testToken}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(header, from)
		for _, ck := range resp.Cookies() {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
		resp, err = hc.Do(req)
		require.NoError(t, err)
		readBody(t, resp)
		return resp
	}
	for _, tc := range []struct {
		header, from string
		want         int
	}{
		{"Origin", "https://home.example.com", http.StatusSeeOther},
		{"Origin", "https://HOME.example.com:443", http.StatusSeeOther},
		{"Referer", "https://home.example.com/ui/login?next=%2Fui%2F", http.StatusSeeOther},
		{"Origin", srv.URL, http.StatusForbidden},
		{"Origin", "http://home.example.com", http.StatusForbidden},
		{"Origin", "https://home.example.com:8443", http.StatusForbidden},
		{"Origin", "https://evil.test", http.StatusForbidden},
	} {
		resp := login(srv, tc.header, tc.from)
		require.Equal(t, tc.want, resp.StatusCode, "%s: %s", tc.header, tc.from)
		if tc.want == http.StatusSeeOther {
			for _, ck := range resp.Cookies() {
				assert.True(t, ck.Secure, "%s is Secure under an https public URL", ck.Name)
			}
		}
	}

	resp := login(newConsole(nil), "Origin", "")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no origin at all")
	plain := newConsole(nil)
	resp = login(plain, "Origin", plain.URL)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "without a public URL the request's own origin, as before")
	for _, ck := range resp.Cookies() {
		assert.False(t, ck.Secure, "%s: without a public URL, plain HTTP sets no Secure cookie, as before", ck.Name)
	}
}
