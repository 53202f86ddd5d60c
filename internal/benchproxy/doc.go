// Command benchproxy is Go's httputil.ReverseProxy in front of one upstream,
// tuned as a production proxy would be (keep-alive pool, timeouts): the
// baseline the gateway benchmark (scripts/bench-gateway.sh) measures the
// Portolan gateway against.
//
// Usage:
//
//	benchproxy --listen 127.0.0.1:18082 --upstream http://127.0.0.1:18080
package main
