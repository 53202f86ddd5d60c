package coordinator_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// forwardProxy is an HTTP forward proxy on loopback that takes every
// request (absolute form) and answers 200 without going on: it keeps the
// hosts it was asked for, where a real proxy would connect.
type forwardProxy struct {
	*httptest.Server
	mu    sync.Mutex
	hosts []string
}

func startForwardProxy(t *testing.T) *forwardProxy {
	p := &forwardProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.hosts = append(p.hosts, r.URL.Host)
		p.mu.Unlock()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *forwardProxy) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...)
}

// The README: "A receiver at a link-local, multicast or unspecified address
// (a cloud's metadata service, 169.254.169.254) is never delivered to,
// whether the URL names it or a name resolves to it". A URL names
// 169.254.169.254 in inet_aton(3)'s forms as well ("a.b.c.d, a.b.c, a.b, a
// ... each part in decimal, octal (leading 0) or hexadecimal (0x)"; a
// trailing dot is DNS's root): getaddrinfo, curl and the forward proxies
// built on them (squid) take http://2852039166/ to 169.254.169.254. When
// the coordinator's environment sets HTTP_PROXY, its dialer sees only the
// proxy's address, so the URL's host is all that can be judged: an event,
// application keys included, must not be handed to the proxy for such a
// host.
func TestWebhookNeverHandsAMetadataAddressInNumericFormToTheProxy(t *testing.T) {
	proxy := startForwardProxy(t)
	for _, k := range []string{"HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	for _, k := range []string{"NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, "")
	}
	co := testenv.StartCoordinator(t, "--webhook-attempts", "1")
	admin := func(method, path string, form url.Values) string {
		t.Helper()
		form.Set("access_token", co.Token)
		target, body := co.URL+path, io.Reader(nil)
		if method == http.MethodGet {
			target += "?" + form.Encode()
		} else {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
		return string(b)
	}
	failures := func() string { return admin(http.MethodGet, "/admin/api/webhooks/failures.json", url.Values{}) }
	send := func(i int, receiver string) {
		t.Helper()
		admin(http.MethodPut, "/admin/api/webhooks.json", url.Values{"url": {receiver}, "active": {"true"},
			"provider_actions": {"true"}, "account_created_on": {"true"}})
		admin(http.MethodPost, "/admin/api/signup.json", url.Values{"org_name": {"Org" + string(rune('A'+i))},
			"username": {"user" + string(rune('a'+i))}})
	}

	// A receiver by name goes through the proxy, as Go's (and porta's
	// RestClient's) HTTP_PROXY says.
	send(0, "http://receiver.example/hook")
	require.Eventually(t, func() bool { return len(proxy.asked()) == 1 }, 15*time.Second, 20*time.Millisecond,
		"the event to receiver.example never reached the proxy:\n%s", co.Output.String())

	forms := []string{
		"http://2852039166/latest/meta-data/",               // a
		"http://0xa9fea9fe/latest/meta-data/",               // a, hexadecimal
		"http://0251.0376.0251.0376/latest/meta-data/",      // a.b.c.d, octal
		"http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",      // a.b.c.d, hexadecimal
		"http://169.254.43518/latest/meta-data/",            // a.b.c
		"http://169.16689662/latest/meta-data/",             // a.b
		"http://169.254.169.254./latest/meta-data/",         // the root's trailing dot
		"http://0.0.0.0./hook",                              // unspecified, trailing dot
		"http://3758096385/hook",                            // 224.0.0.1, multicast
		"http://[::ffff:169.254.169.254]/latest/meta-data/", // already refused: the check stands
	}
	for i, form := range forms {
		want := strings.Count(failures(), "link-local") + 1
		send(i+1, form)
		require.Eventually(t, func() bool {
			return strings.Count(failures(), "link-local") >= want || len(proxy.asked()) > 1
		}, 15*time.Second, 20*time.Millisecond, "%s: the event was neither refused nor sent", form)
		assert.Equal(t, []string{"receiver.example"}, proxy.asked(),
			"%s names a link-local, multicast or unspecified address: the event was handed to the proxy to deliver there", form)
		if len(proxy.asked()) > 1 {
			break // the rest would only repeat it
		}
	}
}
