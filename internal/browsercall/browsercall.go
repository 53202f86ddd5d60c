// Package browsercall tells a web page's call, made through a browser on
// the host, from a local program's: the rule the agent's unauthenticated
// listeners (the management proxy, the local API) refuse such calls by.
//
// It imports only the standard library.
package browsercall

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Refusal returns why r looks like a web page's call, or "" when it does
// not. A page could otherwise write through a listener that needs no
// credential (a cross-site form POST needs no preflight) or, by DNS
// rebinding its own name to 127.0.0.1, read through it too. Browsers send
// Origin on such calls and Sec-Fetch-Site on every call but a typed URL
// ("none"); programs send neither. After rebinding the Host is the page's
// name, so a Host must be an IP address, localhost, or the host of listen
// (the listener's address as configured): behind a wildcard listen callers
// use an address or localhost, as a name the listener was not given cannot
// be told from the attacker's. what names the listener in the refusal
// ("the management proxy").
func Refusal(r *http.Request, listen, what string) string {
	if r.Header.Get("Origin") != "" {
		return "calls with an Origin header are refused: a web page must not call " + what
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "none" {
		return fmt.Sprintf("calls with Sec-Fetch-Site %.20q are refused: a web page must not call %s", s, what)
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	listenHost, _, _ := net.SplitHostPort(listen)
	if host == "" || net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") || (listenHost != "" && strings.EqualFold(host, listenHost)) {
		return ""
	}
	want := "an IP address or localhost"
	if listenHost != "" && net.ParseIP(listenHost) == nil {
		want = "an IP address, localhost or " + listenHost
	}
	return fmt.Sprintf("Host %.60q is refused, as a DNS-rebinding web page would send it: call %s by %s", host, what, want)
}
