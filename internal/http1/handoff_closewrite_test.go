package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request net/http serves for the lean loop (a chunked upload) answered
// without its body read, as a 413, ends its connection as net/http ends
// one of its own: its side first (a FIN), then a wait, so that the client
// reads the answer before the reset of the unread body can erase it.
func TestHandedOffAnswerWithUnreadBodyEndsWithAFin(t *testing.T) {
	_, addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	go func() {
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"100000\r\n"+strings.Repeat("a", 0x100000)+"\r\n0\r\n\r\n")
	}()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	start := time.Now()
	_, err = br.ReadByte()
	require.ErrorIs(t, err, io.EOF, "the server's side ends with a FIN")
	assert.Less(t, time.Since(start), 250*time.Millisecond, "the FIN comes with the answer, not at the close")
}
