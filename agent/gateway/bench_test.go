package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/composition"
)

// discardResponse is a ResponseWriter that keeps only the last body
// written.
type discardResponse struct {
	h    http.Header
	body string
}

func (d *discardResponse) Header() http.Header { return d.h }
func (d *discardResponse) Write(b []byte) (int, error) {
	if len(d.body) != len(b) || d.body != string(b) {
		d.body = string(b)
	}
	return len(b), nil
}
func (d *discardResponse) WriteHeader(int) {}

// benchChain is make bench-gateway's (f): cors, headers and ip_check before
// apicast.
const benchChain = `[
	{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"*","allow_methods":["GET","POST","PUT","DELETE"],
		"allow_headers":["Content-Type","Authorization"],"allow_credentials":true}},
	{"name":"headers","version":"builtin","enabled":true,"configuration":{
		"request":[{"op":"set","header":"X-Request-Host","value":"{{host}}","value_type":"liquid"}],
		"response":[{"op":"set","header":"X-Gateway","value":"portolan-bench","value_type":"plain"}]}},
	{"name":"ip_check","version":"builtin","enabled":true,"configuration":{"check_type":"whitelist","ips":["127.0.0.1/32"]}},
	{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`

// BenchmarkGatewayRequest is the gateway's whole request path in process:
// credentials, mapping rules, authentication, limits through the real usage
// ledger (journal on), and forwarding to an upstream over loopback.
// "limited" gives the plan a limit (never reached), checked on every request
// as in make bench-gateway; "chain" is "limited" behind make
// bench-gateway's (f) chain (benchChain), asked with an Origin as (f) is. Credentials are hashed, as in an agent's view;
// "memory-plaintext" is "memory" over the plaintext composition, the
// baseline of hashed authentication, in the same run.
func BenchmarkGatewayRequest(b *testing.B) {
	for _, tc := range []struct {
		name                               string
		journal, limited, plaintext, chain bool
	}{{"journal", true, false, false, false}, {"memory", false, false, false, false}, {"limited", true, true, false, false},
		{"memory-plaintext", false, false, true, false}, {"chain", true, true, false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newGatewayFixture(b, backendUserKey)
			if tc.limited {
				require.NoError(b, f.tx.Create(&composition.UsageLimit{PlanID: f.premium.ID, MetricID: f.hits.ID, Period: "minute", Value: 1e12}))
			}
			if tc.chain {
				chain := policyChain(b, benchChain)
				f.proxy(b, func(p *composition.Proxy) { p.PolicyChain = chain })
			}
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
			b.Cleanup(up.Close)
			dir := ""
			if tc.journal {
				dir = b.TempDir()
			}
			l, err := ledger.New(dir, "bench", func() int64 { return f.svc.ID }, zerolog.Nop())
			require.NoError(b, err)
			g, _, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), Config{})
			g.ledger = l
			if tc.plaintext {
				v, _, err := g.buildView(f.tx.Result(), f.placement(f.basic, f.premium))
				require.NoError(b, err)
				g.view.Store(v)
				g.refreshRoutes()
			}
			req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
			req.RemoteAddr = "127.0.0.1:40000" // ip_check's whitelist
			if tc.chain {
				req.Header.Set("Origin", "https://example.com") // as make bench-gateway asks (e) and (f)
			}
			w := &discardResponse{h: http.Header{}}
			g.ServeHTTP(w, req)
			require.Equal(b, "ok", w.body, "the request is forwarded")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				g.ServeHTTP(w, req)
			}
		})
	}
}
