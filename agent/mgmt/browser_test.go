package mgmt

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The proxy needs no credential and adds an admin token: a web page in a
// browser on the same host must not drive it, by a cross-site form POST (no
// preflight) or, reading the answers too, by DNS rebinding (the page's own
// name resolving to 127.0.0.1, so Host is the page's name). The app calling
// it by address, localhost or the listen host is served.
func TestBrowserPagesCannotDriveTheProxy(t *testing.T) {
	var mu sync.Mutex
	var hits []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"service":{"id":1}}`))
	}))
	t.Cleanup(upstream.Close)
	env := startProxy(t, upstream.URL, "tok-0123456789abcdef", testSelection)

	send := func(method, host string, header ...string) (int, string) {
		req, err := http.NewRequest(method, env.url+"/admin/api/services.json", strings.NewReader("name=Evil&system_name=evil"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	for _, tc := range []struct {
		name, host string
		header     []string
		reason     string
	}{
		{"cross-site form post", "", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, "Origin"},
		{"Origin alone", "", []string{"Origin", "null"}, "Origin"},
		{"Sec-Fetch-Site alone", "", []string{"Sec-Fetch-Site", "same-site"}, "Sec-Fetch-Site"},
		{"DNS rebinding", "rebind.evil.example:3001", nil, "rebind.evil.example"},
		{"a localhost subdomain", "evil.localhost", nil, "evil.localhost"},
	} {
		status, body := send(http.MethodPost, tc.host, tc.header...)
		assert.Equal(t, http.StatusForbidden, status, "%s: %s", tc.name, body)
		assert.Contains(t, body, tc.reason, "%s: the refusal says why", tc.name)
	}
	mu.Lock()
	assert.Empty(t, hits, "the upstream was called")
	mu.Unlock()

	for _, host := range []string{"", "localhost:3001", "LocalHost", "127.0.0.1:3001", "[::1]:3001"} {
		status, body := send(http.MethodPost, host, "Sec-Fetch-Site", "none")
		assert.Equal(t, http.StatusCreated, status, "Host %q: %s", host, body)
	}
}

// A proxy listening on a name is called by that name; one listening on a
// wildcard address is called by an address or localhost.
func TestHostCheckTakesTheListenHost(t *testing.T) {
	for _, tc := range []struct {
		listen, host string
		ok           bool
	}{
		{"127.0.0.1:3001", "127.0.0.1:3001", true},
		{"127.0.0.1:3001", "mgmt:3001", false},
		{"mgmt:3001", "mgmt:3001", true},
		{"mgmt:3001", "MGMT", true},
		{"mgmt:3001", "other:3001", false},
		{"0.0.0.0:3001", "10.1.2.3:3001", true},
		{"0.0.0.0:3001", "localhost:3001", true},
		{"0.0.0.0:3001", "news:3001", false},
		{"[::]:3001", "[fe80::1]:3001", true},
	} {
		p := &Proxy{listen: tc.listen}
		r := httptest.NewRequest(http.MethodGet, "/admin/api/services.json", nil)
		r.Host = tc.host
		msg := p.checkCaller(r)
		assert.Equal(t, tc.ok, msg == "", "listen %s, Host %s: %s", tc.listen, tc.host, msg)
	}
}
