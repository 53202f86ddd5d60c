package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingUpstream answers every request it can parse with 200 "ok" and
// records the bytes each connection sent and the request lines it parsed.
type recordingUpstream struct {
	addr  string
	mu    sync.Mutex
	raw   strings.Builder
	lines []string
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := &recordingUpstream{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(io.TeeReader(c, u))
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, r.Body)
					u.mu.Lock()
					u.lines = append(u.lines, r.Method+" "+r.RequestURI)
					u.mu.Unlock()
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	return u
}

func (u *recordingUpstream) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.raw.Write(p)
}

func (u *recordingUpstream) seen() (string, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.raw.String(), append([]string(nil), u.lines...)
}

// What a handler (a policy) put in the request from the client's values,
// line ends included, never ends the request line or a header field early:
// the upstream receives one request, whose target has those bytes
// percent-encoded and whose fields have them as spaces (as net/http's
// server writes fields of answers); a header name that is not a token is
// not sent.
func TestForwarderNeverLetsAValueStartAnotherRequest(t *testing.T) {
	up := newRecordingUpstream(t)
	f := NewForwarder(ForwarderConfig{Addr: up.addr, Host: "app", Owned: "X-Secret", Timeout: 5 * time.Second, Idle: 4})
	t.Cleanup(f.CloseIdle)
	smuggle := func(n string) string { return "\r\n\r\nGET /smuggled" + n + " HTTP/1.1\r\nHost: app\r\n\r\n" }
	r := httptest.NewRequest("GET", "/p", nil)
	r.URL.RawQuery = "a=1 HTTP/1.1" + smuggle("1") + "X: "
	r.Header["X-Value"] = []string{"v" + smuggle("2")}
	r.Header["X-Bad: v"+smuggle("3")+"X-A"] = []string{"v"}
	w := httptest.NewRecorder()
	require.NoError(t, f.Serve(w, r, "app"+smuggle("4")+"X: ", []string{"s" + smuggle("5")}))
	assert.Equal(t, "ok", w.Body.String())

	raw, lines := up.seen()
	assert.Equal(t, []string{"GET /p?a=1%20HTTP/1.1%0D%0A%0D%0AGET%20/smuggled1%20HTTP/1.1%0D%0AHost:%20app%0D%0A%0D%0AX:%20"}, lines,
		"one request reached the upstream: %q", raw)
	assert.NotContains(t, raw, "\r\nGET /smuggled")
	assert.NotContains(t, raw, "X-Bad")
	assert.Contains(t, raw, "\r\nX-Value: v    GET /smuggled2 HTTP/1.1  Host: app    \r\n")
	assert.Contains(t, raw, "\r\nHost: app    GET /smuggled4 HTTP/1.1  Host: app    X: \r\n")
	assert.Contains(t, raw, "\r\nX-Secret: s    GET /smuggled5 HTTP/1.1  Host: app    \r\n")
}

// An upgrade is a WebSocket's handshake alone (see IsUpgrade): never h2c,
// nor any other protocol an app might switch to when asked.
func TestIsUpgradeIsAWebSocketHandshakeOnly(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, c := range []struct {
		upgrade, connection, key string
		want                     bool
	}{
		{"websocket", "Upgrade", key, true},
		{"WebSocket", "keep-alive, upgrade", key, true},
		{"websocket", "Upgrade", "", false},
		{"echo", "keep-alive, upgrade", key, false},
		{"websocket", "", key, false},
		{"", "Upgrade", key, false},
		{"h2c", "Upgrade, HTTP2-Settings", key, false},
		{"H2C", "Upgrade", key, false},
		{"websocket, h2c", "Upgrade", key, false},
		{"h2c/1", "Upgrade", key, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.upgrade != "" {
			r.Header.Set("Upgrade", c.upgrade)
		}
		if c.connection != "" {
			r.Header.Set("Connection", c.connection)
		}
		if c.key != "" {
			r.Header.Set("Sec-WebSocket-Key", c.key)
		}
		assert.Equal(t, c.want, IsUpgrade(r), "Upgrade: %q, Connection: %q, key %q", c.upgrade, c.connection, c.key)
	}
}
