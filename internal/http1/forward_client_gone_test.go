package http1

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// endlessUpstream answers every request with head and then a body it never
// ends (an event stream), a piece every few milliseconds; ended is told
// when a write to the gateway fails: the gateway let go of the answer.
func endlessUpstream(t *testing.T, head string) (*Forwarder, chan struct{}) {
	t.Helper()
	ended := make(chan struct{}, 1)
	addr := testenv.ServeTCP(t, func(c net.Conn) {
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
		if _, err := c.Write([]byte(head)); err != nil {
			return
		}
		chunk := []byte("400\r\n" + string(make([]byte, 1024)) + "\r\n")
		for stop := time.Now().Add(20 * time.Second); time.Now().Before(stop); {
			if _, err := c.Write(chunk); err != nil {
				ended <- struct{}{}
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	return NewForwarder(ForwarderConfig{Addr: addr, Host: "app", Timeout: 5 * time.Second, Idle: 4}), ended
}

// A client that leaves in the middle of an answer (an event stream it
// stops listening to, a download it cancels) frees the upstream's
// connection: the gateway does not go on reading the answer to an end that
// may never come, as nginx closes its upstream connection when the
// client's goes. Both readers of an answer are held to it: the chunked
// stream, and a long body whose head http.ReadResponse reads (a folded
// line keeps it out of the lean subset).
func TestClientGoneMidAnswerReleasesTheUpstream(t *testing.T) {
	for name, head := range map[string]string{
		"chunked stream": "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
		"long body":      "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\nX-A: a\r\n b\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			f, ended := endlessUpstream(t, head)
			_, addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = f.Serve(w, r, "", nil)
			}))
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = c.Write([]byte("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"))
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = c.Read(make([]byte, 4096))
			require.NoError(t, err, "the answer starts")
			require.NoError(t, c.Close())
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the upstream's answer is still read 5 s after its client left; want its connection closed")
			}
		})
	}
}
