package coordinator

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answerRaw serves one raw HTTP answer to every connection, after reading
// the request's head.
func answerRaw(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_, _ = conn.Write([]byte(answer))
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/hook"
}

// A receiver's answer is the receiver's to word, not to size: whatever
// status line or head it sends, the failure kept in the composition (and
// the log line of each try) holds a bounded error, or one receiver would
// make every failure it causes megabytes large in every revision.
func TestWebhookReceiversLongStatusKeepsTheFailureSmall(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	for name, answer := range map[string]string{
		"reason phrase":    "HTTP/1.1 500 " + long + "\r\nContent-Length: 0\r\n\r\n",
		"malformed status": "HTTP/1.1 " + long + "\r\n\r\n",
		"huge header":      "HTTP/1.1 500 Oops\r\nX-Junk: " + long + "\r\nContent-Length: 0\r\n\r\n",
	} {
		logs, failure := deliverOnce(t, answerRaw(t, answer), 5*time.Second)
		assert.NotEmpty(t, failure, "%s: the try failed", name)
		assert.Less(t, len(failure), 2048, "%s: the failure kept is %d bytes", name, len(failure))
		assert.Less(t, len(logs), 8192, "%s: the log is %d bytes", name, len(logs))
	}
}
