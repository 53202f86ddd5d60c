package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/internal/http1"
)

// connectionsDesc is APIcast's nginx_http_connections: a gauge by state
// (accepted, active, handled, reading, waiting, writing, and total: the
// requests answered, stub_status' "requests"), from nginx's stub_status.
// Here it counts the lean HTTP/1.1 loop's connections, plain and TLS, and
// the HTTP/2 ones (h2Server.connStats).
var connectionsDesc = prometheus.NewDesc("nginx_http_connections",
	"Number of HTTP connections of the gateway (HTTP/1.1 and HTTP/2) by state, as APIcast exports nginx's.",
	[]string{"state"}, nil)

// connections collects nginx_http_connections at scrape time from the
// running lean loop and HTTP/2 server: nothing on the request path but two
// stores per request.
type connections struct{ g *Gateway }

func (c *connections) Describe(ch chan<- *prometheus.Desc) { ch <- connectionsDesc }

func (c *connections) Collect(ch chan<- prometheus.Metric) {
	var st http1.ConnStats // zero until the loop serves
	if srv := c.g.lean.Load(); srv != nil {
		st = srv.ConnStats()
	}
	var refused uint64 // accepted, and closed at once for --gateway-max-connections
	if capd := c.g.capd.Load(); capd != nil {
		refused = capd.Refused()
	}
	if h2 := c.g.h2.Load(); h2 != nil {
		hs := h2.connStats()
		st.Accepted += hs.Accepted
		st.Active, st.Waiting, st.Writing = st.Active+hs.Active, st.Waiting+hs.Waiting, st.Writing+hs.Writing
	}
	for _, s := range []struct {
		state string
		v     float64
	}{
		{"accepted", float64(st.Accepted + refused)}, {"handled", float64(st.Accepted)}, // as nginx's: all accepted but those beyond the bound
		{"total", float64(c.g.am.requests.Load())},
		{"active", float64(st.Active)}, {"reading", float64(st.Reading)}, {"waiting", float64(st.Waiting)}, {"writing", float64(st.Writing)},
	} {
		ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, s.v, s.state)
	}
}
