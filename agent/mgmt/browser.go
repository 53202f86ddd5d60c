package mgmt

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// checkCaller refuses calls a web page makes through a browser on the
// proxy's host: the proxy needs no credential and adds an admin token, so
// a page could otherwise write (a cross-site form POST needs no preflight)
// or, by DNS rebinding its own name to 127.0.0.1, read through it too.
// Browsers send Origin on such calls and Sec-Fetch-Site on every call but a
// typed URL ("none"); the app's HTTP client sends neither. After rebinding
// the Host is the page's name, so a Host must be an IP address, localhost,
// or the host --mgmt-listen names: behind a wildcard listen (0.0.0.0)
// callers use an address or localhost, as a name the proxy was not given
// cannot be told from the attacker's. It returns the refusal, or "".
func (p *Proxy) checkCaller(r *http.Request) string {
	if r.Header.Get("Origin") != "" {
		return "calls with an Origin header are refused: a web page must not use the proxy's admin token"
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "none" {
		return fmt.Sprintf("calls with Sec-Fetch-Site %.20q are refused: a web page must not use the proxy's admin token", s)
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	listenHost, _, _ := net.SplitHostPort(p.listen)
	if host == "" || net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") || strings.EqualFold(host, listenHost) {
		return ""
	}
	want := "an IP address or localhost"
	if net.ParseIP(listenHost) == nil {
		want = "an IP address, localhost or " + listenHost
	}
	return fmt.Sprintf("Host %.60q is refused, as a DNS-rebinding web page would send it: call the proxy by %s", host, want)
}
