package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// wbtTimeout is these tests' --gateway-body-timeout: a stalled body is cut
// between half of it and all of it after its last bytes.
const wbtTimeout = 400 * time.Millisecond

// startBodyTimedGateway runs the gateway with the tests' body timeout in
// front of upstream (h2c on too), with a POST / rule, and returns its
// address.
func startBodyTimedGateway(t *testing.T, upstream string) string {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	cfg := Config{BodyTimeout: wbtTimeout}
	cfg.TLS.H2C = true
	_, gw, _ := startTestGateway(t, f, upstream, f.placement(f.premium), cfg)
	return strings.TrimPrefix(gw, "http://")
}

// wbtUpstreams are the two ways to the app: the lean forwarder, and
// httputil.ReverseProxy (an upstream with a base path).
func wbtUpstreams(app *wtApp) map[string]string {
	return map[string]string{"forwarder": app.url, "reverse proxy": app.url + "/base"}
}

// A client that sends a part of its body and stops gets 408 once the body
// timeout has passed since its last bytes, as nginx's client_body_timeout
// answers, not an upstream error (the app is waiting for the body, not
// failing), and its connection is closed. The app's connection is cut:
// the part it got is never taken for a whole request. With a
// Content-Length (the lean loop) and chunked (net/http's server).
func TestGatewayWireBodyStallIs408AndCloses(t *testing.T) {
	app := newWtApp(t)
	for via, up := range wbtUpstreams(app) {
		addr := startBodyTimedGateway(t, up)
		for _, chunked := range []bool{false, true} {
			before := len(app.seen())
			head := "POST /upload?" + wtKey + " HTTP/1.1\r\nHost: gw\r\n"
			part := "0123456789"
			if chunked {
				head, part = head+"Transfer-Encoding: chunked\r\n\r\n", wtChunk(part)
			} else {
				head += "Content-Length: 100\r\n\r\n"
			}
			wc := wtDial(t, addr)
			wc.send(head + part)
			sent := time.Now()
			a := wc.read(http.MethodPost)
			took := time.Since(sent)
			assert.Equal(t, http.StatusRequestTimeout, a.status, "%s, chunked %v: %q", via, chunked, a.body)
			assert.True(t, a.close, "%s, chunked %v: the answer says the connection closes", via, chunked)
			wc.closed()
			assert.GreaterOrEqual(t, took, wbtTimeout/2, "%s, chunked %v: not before half the timeout", via, chunked)
			assert.Less(t, took, wbtTimeout+time.Second, "%s, chunked %v: within the timeout", via, chunked)
			assert.Never(t, func() bool {
				for _, s := range app.seen()[before:] {
					if s.bodyErr == nil {
						return true
					}
				}
				return false
			}, 300*time.Millisecond, 10*time.Millisecond, "%s, chunked %v: the app's request, if any, is cut", via, chunked)
		}
	}
}

// The timeout bounds the time between two reads of the body, not the
// whole body: one trickling a byte every third of the timeout, for three
// times the timeout, reaches the app whole.
func TestGatewayWireBodyTrickleIsNotCut(t *testing.T) {
	app := newWtApp(t)
	parts := strings.Split("abcdefghi", "")
	for via, up := range wbtUpstreams(app) {
		addr := startBodyTimedGateway(t, up)
		for _, chunked := range []bool{false, true} {
			start := time.Now()
			status, body, _ := trickleUpload(t, addr, chunked, parts, wbtTimeout/3)
			assert.GreaterOrEqual(t, time.Since(start), 8*wbtTimeout/3, "%s, chunked %v: the upload outlasted the timeout", via, chunked)
			assert.Equal(t, http.StatusOK, status, "%s, chunked %v: %s", via, chunked, body)
			assert.True(t, strings.HasSuffix(body, "/upload abcdefghi"), "%s, chunked %v: %s", via, chunked, body)
		}
	}
}

// An Upgrade: h2c request's body is read before the switch: within the
// body timeout too.
func TestGatewayWireH2CUpgradeBodyStallIs408(t *testing.T) {
	app := newWtApp(t)
	addr := startBodyTimedGateway(t, app.url)
	wc := wtDial(t, addr)
	wc.send("POST /upload?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
		"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 100\r\n\r\n0123456789")
	sent := time.Now()
	a := wc.read(http.MethodPost)
	assert.Equal(t, http.StatusRequestTimeout, a.status, a.body)
	assert.Less(t, time.Since(sent), wbtTimeout+time.Second)
	wc.closed()
	assert.Empty(t, app.seen(), "nothing reaches the app")
}

// stalledBody is a request body that gives its first bytes, then nothing
// until it is closed.
type stalledBody struct {
	first []byte
	stop  chan struct{}
	once  sync.Once
}

func (b *stalledBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	<-b.stop
	return 0, io.ErrUnexpectedEOF
}

func (b *stalledBody) Close() error {
	b.once.Do(func() { close(b.stop) })
	return nil
}

// trickledBody gives a byte of s every gap.
type trickledBody struct {
	s   string
	gap time.Duration
}

func (b *trickledBody) Read(p []byte) (int, error) {
	if b.s == "" {
		return 0, io.EOF
	}
	time.Sleep(b.gap)
	p[0], b.s = b.s[0], b.s[1:]
	return 1, nil
}

// Over HTTP/2 (h2c), a stream whose body stops is answered 408 within the
// body timeout; one whose body trickles is not cut.
func TestGatewayH2CBodyTimeout(t *testing.T) {
	app := newWtApp(t)
	for via, up := range wbtUpstreams(app) {
		gw := "http://" + startBodyTimedGateway(t, up) + "/upload?" + wtKey
		post := func(body io.Reader, length int64) (*http.Response, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, gw, body)
			require.NoError(t, err)
			req.ContentLength = length
			resp, err := h2cClient().Do(req)
			require.NoError(t, err, via)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err, via)
			return resp, string(b)
		}

		stalled := &stalledBody{first: []byte("0123456789"), stop: make(chan struct{})}
		sent := time.Now()
		resp, body := post(stalled, 100)
		took := time.Since(sent)
		_ = stalled.Close()
		assert.Equal(t, 2, resp.ProtoMajor, via)
		assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s: %q", via, body)
		assert.GreaterOrEqual(t, took, wbtTimeout/2, "%s: not before half the timeout", via)
		assert.Less(t, took, wbtTimeout+time.Second, "%s: within the timeout", via)

		for _, length := range []int64{9, -1} { // with a content-length, and without
			resp, body = post(&trickledBody{s: "abcdefghi", gap: wbtTimeout / 3}, length)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s, length %d: %q", via, length, body)
			assert.True(t, strings.HasSuffix(body, "/upload abcdefghi"), "%s, length %d: %q", via, length, body)
		}
	}
}

// Config.Check fills the body timeout in: nginx's client_body_timeout
// default.
func TestGatewayBodyTimeoutDefault(t *testing.T) {
	cfg := Config{Listen: ":0", Upstream: "http://127.0.0.1:1"}
	_, err := cfg.Check()
	require.NoError(t, err)
	assert.Equal(t, 60*time.Second, cfg.BodyTimeout)
}

// APIcast reads credentials the query lacks from a form body: a client
// that stops sending that body is answered 408 as any stalled body is, not
// 403 "Authentication parameters missing", which would blame credentials
// it may well have been sending.
func TestGatewayWireFormCredentialsStallIs408(t *testing.T) {
	app := newWtApp(t)
	addr := startBodyTimedGateway(t, app.url)
	wc := wtDial(t, addr)
	wc.send("POST /upload HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: 100\r\n\r\nuser_key=premium")
	a := wc.read(http.MethodPost)
	assert.Equal(t, http.StatusRequestTimeout, a.status, "%q", a.body)
	assert.True(t, a.close, "the answer says the connection closes")
	wc.closed()
	assert.Empty(t, app.seen(), "nothing reaches the app")
}
