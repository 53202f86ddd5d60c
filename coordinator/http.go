package coordinator

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portolan/portolan/console"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

func (c *Coordinator) routes() http.Handler {
	c.registerMetrics()
	m := newHTTPMetrics()
	c.metrics.MustRegister(m.requests, m.latency, c.usageBatches)
	instrument := func(api string, h http.Handler) http.Handler { return m.api(api, true).instrument(h) }
	// A blocking query lasts as long as home has nothing new, up to its
	// wait: its duration says nothing of home's speed and would bury the
	// agents' latency, so it is counted as api "agents_watch" and never
	// timed. Its answer, once due, is the same work as a plain read's.
	agentsAPI, watches := m.api("agents", true), m.api("agents_watch", false)
	agents := c.agentsHandler()
	instrumentedAgents := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if registry.IsBlockingRead(r) {
			watches.serve(agents, w, r)
			return
		}
		agentsAPI.serve(agents, w, r)
	})
	mux := http.NewServeMux()
	mux.Handle("/admin/api/", instrument("admin", c.api))
	mux.Handle("/master/api/", instrument("admin", c.api))
	mux.Handle("/admin/portolan/", instrument("portolan", c.portability()))
	mux.Handle("POST "+registry.PathAdminApply, instrument("portolan", c.adminOnly(c.applyHandler())))
	// The documents' JSON Schema needs no token, as any published schema:
	// it describes the format and holds nothing of the composition.
	mux.Handle("GET /admin/portolan/schema.json", instrument("portolan", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		_, _ = w.Write(manifest.Schema())
	})))
	mux.Handle("/v1/", instrumentedAgents)
	mux.Handle("POST "+registry.PathUsage, instrument("agents", c.usageHandler()))
	mux.Handle("PUT "+registry.PathInstances+"{id}"+registry.PathImageComposition, instrument("agents", c.imageApplyHandler()))
	mux.Handle("/transactions/", instrument("service_management", c.sm))
	mux.Handle("/transactions.xml", instrument("service_management", c.sm))
	mux.Handle("/stats/", instrument("analytics", c.analytics))
	mux.Handle(threescale.InternalAPIPrefix, instrument("internal", c.internal))
	mux.Handle(console.Prefix, instrument("console", c.console))
	mux.Handle("GET /ui", instrument("console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently)))
	// The console's event stream is counted, not timed: it lasts as long as
	// the page is open.
	mux.Handle("GET "+console.Prefix+"events", m.api("console", false).instrument(c.console))
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.metrics, promhttp.HandlerOpts{}))
	health := c.newHealth() // not instrumented: probes every second would drown the API's figures
	mux.HandleFunc("GET "+PathHealthLive, health.live)
	mux.HandleFunc("GET "+PathHealthReady, health.ready)
	// A heartbeat, the call every instance makes every few seconds, goes
	// straight to the agent API: the mux would route it there too, but
	// allocates on the way, trying each wildcard pattern of its many.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if registry.IsHeartbeat(r) {
			instrumentedAgents.ServeHTTP(w, r)
			return
		}
		apiBrowserPolicies(w.Header())
		mux.ServeHTTP(w, r)
	})
}

// Shared values of apiBrowserPolicies' headers: len == cap, so an append
// elsewhere copies rather than writes into them.
var (
	nosniff   = []string{"nosniff"}
	apiCSP    = []string{"default-src 'none'; frame-ancestors 'none'; sandbox"}
	denyFrame = []string{"DENY"}
)

// apiBrowserPolicies tells a browser that home's answers (XML, JSON,
// metrics, errors echoing input) are data: never sniffed into HTML, never
// framed, and, were one rendered, without script or any load. No API
// answer needs more, and the console, on the same origin as its session
// cookie, is then safe from a page of the API's made to look like one of
// its own; the console sets its own, stricter policy for its pages.
func apiBrowserPolicies(h http.Header) {
	h["X-Content-Type-Options"] = nosniff
	h["Content-Security-Policy"] = apiCSP
	h["X-Frame-Options"] = denyFrame
}

func (c *Coordinator) registerMetrics() {
	c.metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portolan_composition_revision", Help: "Revision of the published composition.",
		}, func() float64 { return float64(c.store.Snapshot().Revision) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portolan_composition_entities", Help: "Entities in the published composition.",
		}, func() float64 { return float64(c.store.Snapshot().Count()) }),
		newInstancesCollector(c.instances),
	)
	if c.cfg.Version != "" {
		info := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portolan_build_info", Help: "Build information.", ConstLabels: prometheus.Labels{"version": c.cfg.Version},
		})
		info.Set(1)
		c.metrics.MustRegister(info)
	}
}
