package gateway

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

// An https upstream's answer cut short (a chunked body whose upstream
// closes before its last chunk) reaches the client cut, through the lean
// loop as through net/http: httputil.ReverseProxy, which forwards to https
// upstreams, aborts only for a request that names its server, and ended
// the cut answer as if whole for the lean loop's.
func TestHTTPSUpstreamsCutAnswerReachesTheClientCut(t *testing.T) {
	certs := newTestCerts(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{proxiedPair(t, certs)}, NextProtos: []string{"http/1.1"}}
	addr := testenv.ServeTCP(t, func(c net.Conn) {
		conn := tls.Server(c, cfg)
		defer conn.Close()
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nshort\r\n")
	})
	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, "https://"+addr, f.placement(f.basic, f.premium), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	getCut(t, gw+"/?user_key=premium-key")
}
