package gateway

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

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
			upstreamLetGo := make(chan struct{}, 1)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/events" {
					_, _ = io.WriteString(w, "ok")
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "data: first\n\n")
				w.(http.Flusher).Flush()
				select { // nothing more until the gateway lets go
				case <-r.Context().Done():
					upstreamLetGo <- struct{}{}
				case <-time.After(30 * time.Second):
				}
			}))
			t.Cleanup(up.Close)
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
