package gateway

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --gateway-max-connections: beyond the bound a connection is closed as
// soon as it is accepted, and counted as nginx counts one over
// worker_connections (nginx_http_connections accepted, not handled); one
// that closes frees its place. The bound holds on the h2c front door too.
func TestGatewayMaxConnections(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  TLS
	}{{"lean loop", TLS{}}, {"h2c front door", TLS{H2C: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newGatewayFixture(t, backendUserKey)
			up, _ := echoUpstream(t, "app")
			_, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{MaxConns: 1, TLS: tc.tls})
			gauge := func(state string) float64 {
				return series(t, reg, "nginx_http_connections", map[string]string{"state": state}).GetGauge().GetValue()
			}
			addr := strings.TrimPrefix(base, "http://")
			get := func(c net.Conn) error {
				if _, err := c.Write([]byte("GET /?user_key=premium-key HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
					return err
				}
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return err
				}
				return resp.Body.Close()
			}
			dial := func() net.Conn {
				c, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				return c
			}
			held := dial()
			require.NoError(t, get(held), "within the bound")
			assert.Error(t, get(dial()), "a second connection is closed")
			assert.Equal(t, 2.0, gauge("accepted"))
			assert.Equal(t, 1.0, gauge("handled"))

			require.NoError(t, held.Close())
			require.Eventually(t, func() bool { return get(dial()) == nil }, 5*time.Second, 20*time.Millisecond,
				"a closed connection frees its place")
		})
	}
}
