package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// BenchmarkServer is the gateway listener's serving loop alone: a
// handler answering "ok", called over loopback keep-alive connections (one
// per parallel client), through the lean server and, as the baseline,
// through net/http's server with the settings the gateway used before it.
func BenchmarkServer(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	serve := map[string]func(ln net.Listener) func(){
		"lean": func(ln net.Listener) func() {
			s := NewServer(h, zerolog.Nop())
			go func() { _ = s.Serve(ln) }()
			return func() { _ = s.Shutdown(context.Background()) }
		},
		"baseline=net/http": func(ln net.Listener) func() {
			s := &http.Server{Handler: h, ReadHeaderTimeout: leanHeaderTimeout, IdleTimeout: leanIdleTimeout, MaxHeaderBytes: MaxHeaderBytes}
			go func() { _ = s.Serve(ln) }()
			return func() { _ = s.Close() }
		},
	}
	for _, name := range []string{"lean", "baseline=net/http"} {
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(b, err)
			b.Cleanup(serve[name](ln))
			raw := []byte("GET /health?user_key=k HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\n\r\n")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if _, err := c.Write(raw); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
