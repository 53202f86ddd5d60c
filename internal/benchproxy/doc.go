// Command benchproxy is a plain reverse proxy in front of one upstream, for
// the gateway benchmark (scripts/bench-gateway.sh): by default Go's
// httputil.ReverseProxy, tuned as a production proxy would be (keep-alive
// pool, timeouts), the baseline the Portolan gateway is measured against;
// with --lean, the gateway's own HTTP/1.1 loop and forwarder
// (internal/http1) with nothing of the gateway around them (no
// authentication, limits, policies or metrics), which splits the gateway's
// distance to nginx into what its I/O costs and what its work costs.
//
// Usage:
//
//	benchproxy --listen 127.0.0.1:18082 --upstream http://127.0.0.1:18080 [--lean]
//
// It must import no Portolan package but internal/http1.
package main
