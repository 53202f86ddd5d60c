package http1

import "net/http"

// ForwardsMethod reports whether a request of method may be sent to an
// upstream at all: every method but TRACE and CONNECT, which nginx in front
// of APIcast answers 405 before any handler runs
// (ngx_http_process_request_header), so that no mapping rule (ANY, TRACE,
// CONNECT) ever sends them on.
//
// TRACE has the upstream echo the request it received, and the gateway's
// request carries what the client must never see (the owned header: the
// service's secret token), which RFC 9110 §9.3.8 forbids a client to put
// in one. A 2xx answer to CONNECT makes the upstream's connection a tunnel
// whatever length it declares (RFC 9112 §6.3), and relayed it is a 2xx to
// CONNECT with a framed body (RFC 9110 §9.3.6 forbids it a server): a
// client or proxy in front would take its connection for a tunnel while
// the gateway reads on in HTTP. Those who send requests another way
// (httputil.ReverseProxy) ask here too.
func ForwardsMethod(method string) bool {
	return method != http.MethodTrace && method != http.MethodConnect
}

// RefuseMethod answers a request ForwardsMethod refuses with nginx's 405.
// What follows an HTTP/1.x CONNECT on its connection may be the tunnel's
// bytes rather than a request: the connection is closed after the answer
// (an HTTP/2 stream ends by itself; Connection: close would end every
// stream of its connection).
func RefuseMethod(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect && r.ProtoMajor < 2 {
		w.Header().Set("Connection", "close")
	}
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
}
