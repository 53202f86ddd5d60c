package console

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// A console behind a reverse proxy that terminates TLS (nginx, Traefik, an
// OpenShift route) sees plain HTTP from the proxy's address, under whatever
// Host the proxy sends. What the browser saw is told to it explicitly:
// Config.PublicURL is the URL operators open, Config.TrustedProxies the
// peers whose X-Forwarded-For is believed. Neither is guessed from the
// request: a header a client can write never decides a cookie's Secure
// flag, the origin a form must come from, or the address failed logins
// are counted under.

// ParsePublicURL parses the URL operators open the console at, such as
// https://home.example.com: a scheme and a host, with no path (the console
// is served at /ui/ of it), query or credentials. Plain http is refused but
// on loopback, since the browser would then send access tokens in clear.
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%q: give the scheme and host operators open, such as https://home.example.com", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%q: give only a scheme and a host (and port): the proxy must forward its %s to home's %s unchanged", s, Prefix, Prefix)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%q: plain http to a host other than loopback would send access tokens in clear: terminate TLS at the proxy and give https://", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: canonicalHost(u.Scheme, u.Host)}, nil
}

// loopbackHost tells whether a URL's host names this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// canonicalHost is host as a browser writes it in an Origin: lower case,
// without the scheme's default port.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}

// ParseTrustedProxies parses the addresses and CIDR blocks of the reverse
// proxies in front of home (a bare address is a block of one). A block
// holding every address is refused: any client could then forge its own.
func ParseTrustedProxies(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range items {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR block (10.0.0.0/8, 2001:db8::/32)", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("%q trusts every peer, so any client could forge the address it is counted under: name the proxies' addresses", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// errNoAddress is a RemoteAddr that is not an IP address (a test's, a Unix
// socket's).
var errNoAddress = errors.New("console: the peer has no IP address")

// clientAddr is the address of the client that sent r: the peer's, unless
// the peer is a trusted proxy. Then X-Forwarded-For is read from the right
// (each proxy appends the address it received from) and the first address
// that is not a trusted proxy's is the client's, as nginx's realip module
// does with real_ip_recursive on. Entries to its left were written by the
// client itself and are never believed. An entry that is not an address
// stops the walk at the last trusted hop: the limit then falls on the
// proxy, never on an address the client chose.
func (c *Console) clientAddr(r *http.Request) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, errNoAddress
	}
	addr = addr.Unmap()
	if !c.trusted(addr) {
		return addr, nil
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		line := hops[i]
		for line != "" {
			var hop string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, hop = line[:j], line[j+1:]
			} else {
				line, hop = "", line
			}
			a, ok := forwardedAddr(hop)
			if !ok {
				return addr, nil
			}
			addr = a
			if !c.trusted(a) {
				return a, nil
			}
		}
	}
	return addr, nil
}

// forwardedAddr parses one X-Forwarded-For entry: an address, possibly
// with a port (some load balancers write one) or IPv6 brackets.
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// trusted tells whether a is one of the trusted proxies'.
func (c *Console) trusted(a netip.Addr) bool {
	for _, p := range c.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// secure tells whether the console's cookies are Secure: the public URL's
// scheme says, or without one, whether home serves TLS itself.
func (c *Console) secure() bool {
	if c.cfg.PublicURL != nil {
		return c.cfg.PublicURL.Scheme == "https"
	}
	return c.cfg.Secure
}

// sameOrigin reports whether a state-changing request (a POST) comes from
// a page of this console: the browser's Sec-Fetch-Site says same-origin,
// or else its Origin (or, lacking one, its Referer) is the console's
// origin. That is the public URL's when one is configured, else the
// request's own host, with https when home serves TLS. A request that
// says nothing of where it comes from is refused.
func (c *Console) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	from := r.Header.Get("Origin")
	if from == "" || from == "null" {
		from = r.Header.Get("Referer")
	}
	u, err := url.Parse(from)
	if from == "" || err != nil {
		return false
	}
	if pub := c.cfg.PublicURL; pub != nil {
		return u.Scheme == pub.Scheme && canonicalHost(u.Scheme, u.Host) == pub.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && u.Host == r.Host
}
