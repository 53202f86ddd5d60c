package agent

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// discardResponse is a ResponseWriter that keeps nothing.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardResponse) WriteHeader(int)             {}

// BenchmarkGatewayRequest is the gateway's whole request path in process:
// credentials, mapping rules, authentication, limits through the real usage
// ledger (journal on), and forwarding to an upstream over loopback.
// "limited" gives the plan a limit (never reached), checked on every request
// as in make bench-gateway.
func BenchmarkGatewayRequest(b *testing.B) {
	for _, tc := range []struct {
		name             string
		journal, limited bool
	}{{"journal", true, false}, {"memory", false, false}, {"limited", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newGatewayFixture(b, backendUserKey)
			if tc.limited {
				require.NoError(b, f.tx.Create(&composition.UsageLimit{PlanID: f.premium.ID, MetricID: f.hits.ID, Period: "minute", Value: 1e12}))
			}
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
			b.Cleanup(up.Close)
			dir := ""
			if tc.journal {
				dir = b.TempDir()
			}
			ledger, err := newUsageLedger(dir, "bench", func() int64 { return f.svc.ID }, zerolog.Nop())
			require.NoError(b, err)
			g, _, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), GatewayConfig{})
			g.ledger = ledger
			req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
			w := &discardResponse{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				g.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkGatewayServer is the gateway listener's serving loop alone: a
// handler answering "ok", called over loopback keep-alive connections (one
// per parallel client), through the lean server and, as the baseline,
// through net/http's server with the settings the gateway used before it.
func BenchmarkGatewayServer(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	serve := map[string]func(ln net.Listener) func(){
		"lean": func(ln net.Listener) func() {
			s := newGatewayServer(h, zerolog.Nop())
			go func() { _ = s.Serve(ln) }()
			return func() { _ = s.Shutdown(context.Background()) }
		},
		"baseline=net/http": func(ln net.Listener) func() {
			s := &http.Server{Handler: h, ReadHeaderTimeout: leanHeaderTimeout, IdleTimeout: leanIdleTimeout, MaxHeaderBytes: gatewayMaxHeaderBytes}
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
