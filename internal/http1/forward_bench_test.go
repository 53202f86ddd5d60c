package http1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchResponse is a ResponseWriter that keeps nothing.
type benchResponse struct{ h http.Header }

func (d *benchResponse) Header() http.Header         { return d.h }
func (d *benchResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *benchResponse) WriteHeader(int)             {}

// BenchmarkProxy is the forwarder alone, to an upstream over loopback:
// a GET (the gateway's common case, whose deadlines must not move per
// request) and a POST with a small body (whose deadlines count from the
// body sent).
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	b.Cleanup(up.Close)
	body := strings.Repeat("x", 1024)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		b.Run(strings.ToLower(method), func(b *testing.B) {
			f := NewForwarder(ForwarderConfig{Addr: up.Listener.Addr().String(), Host: "app", Timeout: 60 * time.Second, Idle: 4})
			b.Cleanup(f.CloseIdle)
			w := &benchResponse{h: http.Header{}}
			var br strings.Reader
			r := httptest.NewRequest(method, "/bench", nil)
			b.ReportAllocs()
			for b.Loop() {
				if method == http.MethodPost {
					br.Reset(body)
					r.Body, r.ContentLength = io.NopCloser(&br), int64(len(body))
				}
				clear(w.h)
				if err := f.Serve(w, r, "", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
