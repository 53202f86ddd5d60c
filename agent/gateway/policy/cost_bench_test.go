package policy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// discard is a response writer that keeps nothing but its header map.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkPolicyCost is what each policy adds to a request, in ns: the
// chain of that policy alone around a forwarder that answers 200, beside
// "none", the empty chain, in the same run. No network, no apicast element:
// the request path's own cost of the policy (the whole gateway request,
// with its upstream, is BenchmarkGatewayRequest in agent/gateway).
func BenchmarkPolicyCost(b *testing.B) {
	cases := []struct{ name, conf string }{
		{"none", ""},
		{"cors", `{"allow_origin":"*","allow_methods":["GET","POST"],"allow_headers":["Content-Type"],"allow_credentials":true}`},
		{"headers", `{"request":[{"op":"set","header":"X-Client-IP","value":"{{remote_addr}}","value_type":"liquid"}],
			"response":[{"op":"set","header":"X-Gateway","value":"portolan","value_type":"plain"}]}`},
		{"ip_check", `{"check_type":"whitelist","ips":["127.0.0.1/32","10.0.0.0/8","192.168.0.0/16"]}`},
		{"url_rewriting", `{"commands":[{"op":"sub","regex":"^/v1/","replace":"/"}]}`},
		{"routing", `{"rules":[{"url":"http://127.0.0.1:9","condition":{"operations":[{"match":"path","op":"matches","value":"^/admin"}]}}]}`},
		{"upstream", `{"rules":[{"regex":"^/admin","url":"http://127.0.0.1:9"}]}`},
		{"rate_limit", `{"fixed_window_limiters":[{"key":{"name":"{{remote_addr}}","name_type":"liquid","scope":"service"},"count":1000000000,"window":60}]}`},
		{"maintenance_mode", `{"condition":{"combine_op":"and","operations":[{"left":"{{uri}}","left_type":"liquid","op":"==","right":"/maintenance"}]}}`},
		{"payload_limits", `{"request":1048576,"response":1048576}`},
		{"default_credentials", `{"auth_type":"user_key","user_key":"anonymous-key"}`},
		{"caching", `{"caching_type":"resilient"}`},
		{"retry", `{"retries":2}`},
		{"upstream_connection", `{"connect_timeout":1,"send_timeout":5,"read_timeout":5}`},
		// Every request after the first is a hit: the kept answer is written
		// instead of forwarding.
		{"content_caching", `{"rules":[{"cache":true}]}`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var configs []composition.PolicyConfig
			if tc.conf != "" {
				configs = append(configs, composition.PolicyConfig{Name: tc.name, Version: "builtin", Enabled: true, Configuration: []byte(tc.conf)})
			}
			env := &Env{ServiceID: 1, ServiceSystemName: "bench", Metrics: NewMetrics(prometheus.NewRegistry()), Shared: &Shared{}}
			chain, err := Build(configs, nil, env)
			require.NoError(b, err)
			r := httptest.NewRequest(http.MethodGet, "/v1/articles?user_key=k", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Origin", "https://news.example")
			w := &discard{h: http.Header{}}
			ok := ForwarderFunc(func(c *Context) { c.W.WriteHeader(http.StatusOK) })
			var ctx Context
			b.ReportAllocs()
			for b.Loop() {
				r.URL.Path = "/v1/articles"
				clear(w.h)
				chain.Acquire(&ctx, w, r)
				chain.Serve(&ctx, ok)
			}
		})
	}
}
