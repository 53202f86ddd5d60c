//go:build linux

package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// quietStream is an app whose /events answers one event and then nothing
// (until 30 s), and whose /poll answers nothing (a long poll, until 30 s);
// letGo is told when the gateway ends either request. Other paths answer
// "ok".
func quietStream(t *testing.T) (*httptest.Server, chan struct{}) {
	t.Helper()
	letGo := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
		case "/poll":
		default:
			_, _ = io.WriteString(w, "ok")
			return
		}
		select { // nothing more until the gateway lets go
		case <-r.Context().Done():
			letGo <- struct{}{}
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(up.Close)
	return up, letGo
}

// A client that stops listening to an event stream whose upstream is
// quiet frees both its place under --gateway-max-connections and the
// upstream's request, within the lean server's look at its clients (every
// second), as nginx frees them when a client's connection breaks. Before,
// the gateway held both until the upstream wrote again: with the bound at
// one, a single departed listener of a quiet stream kept every other
// client out. On the lean loop, behind the h2c front door, and over TLS.
func TestClientLeavingAQuietStreamFreesItsPlace(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "127.0.0.1")
	for _, tc := range []struct {
		name string
		tls  TLS
	}{
		{"lean loop", TLS{}},
		{"h2c front door, an HTTP/1.1 client", TLS{H2C: true}},
		{"TLS, an HTTP/1.1 client", TLS{CertFile: certFile, KeyFile: keyFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, upstreamLetGo := quietStream(t)
			f := newGatewayFixture(t, backendUserKey)
			_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{MaxConns: 1, TLS: tc.tls})
			addr := strings.TrimPrefix(base, "http://")
			dial := func() net.Conn {
				c, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				if tc.tls.CertFile != "" {
					c = tls.Client(c, &tls.Config{RootCAs: certs.pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
				}
				require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
				return c
			}
			get := func(c net.Conn, path string) (*http.Response, error) {
				if _, err := io.WriteString(c, "GET "+path+"?user_key=premium-key HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					return nil, err
				}
				return http.ReadResponse(bufio.NewReader(c), nil)
			}

			listener := dial()
			resp, err := get(listener, "/events")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "data: first\n", line)
			require.NoError(t, listener.Close())

			select {
			case <-upstreamLetGo:
			case <-time.After(5 * time.Second):
				t.Fatal("the quiet stream's upstream request is still held 5 s after its client left; want it ended")
			}
			require.Eventually(t, func() bool {
				c := dial()
				defer c.Close()
				resp, err := get(c, "/")
				return err == nil && resp.StatusCode == http.StatusOK
			}, 5*time.Second, 50*time.Millisecond, "the departed listener's place is free for another client")
		})
	}
}

// An HTTP/2 client that cancels its stream (RST_STREAM) lets the quiet
// stream's upstream go at once: x/net/http2 ends the stream's context, which
// the forwarder's relay now watches (before, it waited for the upstream's
// next write). The connection and its other streams go on.
func TestHTTP2StreamCancelledOnAQuietStreamLetsTheUpstreamGo(t *testing.T) {
	up, upstreamLetGo := quietStream(t)
	gw := startH2CGateway(t, up.URL, Config{})
	client := h2cClient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gw+"/events?user_key=premium-key", nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.Equal(t, 2, resp.ProtoMajor)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: first\n", line)
	cancel()
	select {
	case <-upstreamLetGo:
	case <-time.After(5 * time.Second):
		t.Fatal("the quiet stream's upstream request is still held 5 s after its HTTP/2 stream was cancelled; want it ended")
	}
	resp, err = client.Get(gw + "/?user_key=premium-key")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the connection serves on")
}

// A client that leaves a long poll whose app holds the head of its answer
// frees its place and the app's request within the look at its clients,
// not at --gateway-upstream-timeout (60 s), and is counted as nginx counts it:
// 499, client closed request, not an upstream timeout.
func TestClientLeavingALongPollFreesItsPlace(t *testing.T) {
	up, upstreamLetGo := quietStream(t)
	f := newGatewayFixture(t, backendUserKey)
	_, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{MaxConns: 1})
	addr := strings.TrimPrefix(base, "http://")
	poller, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(poller, "GET /poll?user_key=premium-key HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond) // the gateway waits for the app
	require.NoError(t, poller.Close())
	select {
	case <-upstreamLetGo:
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll's upstream request is still held 5 s after its client left; want it ended")
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/?user_key=premium-key")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 50*time.Millisecond, "the poller's place is free for another client")
	assert.Equal(t, 1.0, series(t, reg, "apicast_status", map[string]string{"status": "499"}).GetCounter().GetValue(), "client closed request")
	assert.Zero(t, series(t, reg, "portolan_agent_gateway_requests_total", map[string]string{"result": "upstream_error"}).GetCounter().GetValue(),
		"the app did not fail: its client left")
}

// A client that sends its end with its long poll (nc -N, a script's socket
// shutdown) and is let go as gone gets no answer, as nginx's 499 closes
// the connection without one: not an empty 200, which it would take for
// the app's answer while the gateway counts 499. Nor is a request it
// pipelined behind the poll served under the ended context.
func TestClientGoneFromALongPollIsSentNoAnswer(t *testing.T) {
	up, upstreamLetGo := quietStream(t)
	f := newGatewayFixture(t, backendUserKey)
	_, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "GET /poll?user_key=premium-key HTTP/1.1\r\nHost: x\r\n\r\nGET /?user_key=premium-key HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	select {
	case <-upstreamLetGo:
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll's upstream request is still held 5 s after its client sent its end")
	}
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Empty(t, string(got), "the client left (499): it is sent nothing")
	assert.Equal(t, 1.0, series(t, reg, "apicast_status", map[string]string{"status": "499"}).GetCounter().GetValue(), "client closed request")
}
