package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"

	"github.com/stretchr/testify/require"
)

// A request body read on by a goroutine the handler left behind (a
// Transport's write loop) never reads the next request: once the handler
// returned the server reads what is left of the body itself, and the next
// request is served.
func TestBodyReadAfterHandlerReturnedLeavesNextRequestIntact(t *testing.T) {
	upAddr := testenv.ServeTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		// Answers before reading the body, as an app refusing it would.
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_, _ = io.Copy(io.Discard, br)
	})
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upAddr})
	rp.Transport = &http.Transport{}
	_, addr := startServer(t, rp)
	c := dialWire(t, addr)
	c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
	resp, body := c.answer("POST")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "ok", body)
	time.Sleep(100 * time.Millisecond) // the loop is draining the body, the Transport still reading it
	c.send("0123456789GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
	require.NoError(t, err, "the request after the body was never answered")
	require.Equal(t, 200, resp.StatusCode)
}
