package gateway

import "net/http"

// misdirected answers 421 Misdirected Request (RFC 9110 section 15.5.20)
// to a request over TLS whose service reads the client certificate
// (tls_validation, oauth_mtls, fapi's certificate-bound tokens) when its
// connection's handshake did not ask for one, and reports whether it did.
// That happens to a connection made while the service needed none: the
// composition changed since (a new revision, another placement), or a
// client reuses one connection for another name (HTTP/2 coalescing). The
// client was never asked, so tls_validation's 400 "No required TLS
// certificate was sent" would blame it wrongly; "Clients receiving a 421
// ... MAY retry the request ... over a different connection", whose
// handshake then asks. The connection is closed after the answer
// (HTTP/2: GOAWAY, the streams in flight finish), so that a client which
// does not retry by itself is not answered 421 again on it. A body sent
// with the request is not read; the HTTP/1.1 server reads and discards
// what the client still sends before it closes (a lingering close,
// internal/http1), so that the connection is not reset under the client
// before it reads the 421.
func (g *Gateway) misdirected(w http.ResponseWriter, r *http.Request, v *view) bool {
	p := v.handshake
	if p == nil || p.askedBy == "" || r.TLS == nil || handshakeAsked(r) {
		return false
	}
	p.misdirected.Inc()
	w.Header()["Connection"] = []string{"close"}
	writeText(w, http.StatusMisdirectedRequest, plainText, p.body)
	return true
}
