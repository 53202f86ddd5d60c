package http1

import (
	"net/http"
	"net/textproto"
	"strings"
)

// HopByHop reports whether the canonical header key k describes one
// connection only (RFC 9110 section 7.6.1, and the Proxy-Connection and
// Keep-Alive of older peers), and so is never forwarded. A switch: cheaper
// than a map lookup for every header of every request and answer.
func HopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// ConnectionListed reports whether the canonical key is named in one of h's
// Connection headers, which makes it hop-by-hop too.
func ConnectionListed(h http.Header, key string) bool {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(f)) == key {
				return true
			}
		}
	}
	return false
}

// RemoveHopByHop deletes from h every header that concerns one connection:
// those its Connection headers name, and those HopByHop lists.
func RemoveHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for k := range h {
		if HopByHop(k) {
			delete(h, k)
		}
	}
}

// DropConnectionListed deletes from h the fields its Connection headers name
// and leaves in Connection only the options that are no field of the
// request (close, keep-alive, upgrade). Run when a request comes in, before
// a proxy adds its own headers: the names a client listed then no longer
// strip, at forwarding, a header the proxy set under one of them (RFC 9110
// section 7.6.1 means the fields as received).
func DropConnectionListed(h http.Header) {
	vs := h["Connection"]
	if len(vs) == 0 {
		return
	}
	var keep []string
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
			case strings.EqualFold(f, "close"), strings.EqualFold(f, "keep-alive"), strings.EqualFold(f, "upgrade"):
				keep = append(keep, f)
			default:
				h.Del(f)
			}
		}
	}
	if len(keep) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(keep, ", ")}
}
