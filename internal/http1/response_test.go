package http1

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// An empty Write to a chunked answer writes nothing: a chunk of size 0
// would end the answer, and what follows would be a second one.
func TestEmptyWriteDoesNotEndChunkedAnswer(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush() // head out, chunked
		_, _ = w.Write([]byte("first "))
		_, _ = w.Write(nil) // e.g. fmt.Fprint(w, "") or an empty upstream piece
		_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle")
	})
	_, addr := startServer(t, h)
	c := dialWire(t, addr)
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := c.answer("GET")
	require.Equal(t, "first HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle", body)
}
