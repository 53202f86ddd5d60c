package policy

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// ipCheckPolicy is APIcast's "ip_check" policy: "Accepts or denies requests
// according to a whitelist or a blacklist of IPs. In the configuration, both
// single IPs (like 172.18.0.1) and CIDR ranges (like 172.18.0.0/16) can be
// used." A denied request gets 403 with error_msg ("IP address not allowed"
// by default) as its body.
//
// The client's IP is taken from client_ip_sources, tried in order
// (last_caller by default); as in APIcast since 3scale/APIcast#1273
// ("Policy: IpCheck default deny", THREESCALE-7076), a request from which no
// source yields an IP is denied as a listed one is, whatever the check_type:
// its origin cannot be known. proxy_protocol_addr yields none: the gateway
// does not speak the PROXY protocol. Unlike APIcast's iputils (IPv4 only),
// IPv6 addresses and prefixes are matched too, an IPv4-mapped IPv6 address
// as its IPv4 address. The check runs in the access phase, as APIcast's;
// "check_phase": "rewrite" (a Portolan extension) runs it before the apicast
// element asks for credentials.
type ipCheckPolicy struct {
	prefixes  []netip.Prefix
	blacklist bool
	rewrite   bool // check in the rewrite phase instead of access
	sources   []ipSource
	body      []byte

	denied prometheus.Counter
}

type ipSource uint8

const (
	ipFromLastCaller ipSource = iota
	ipFromXForwardedFor
	ipFromXRealIP
	ipFromProxyProtocol
)

type ipCheckConfig struct {
	IPs             []string `json:"ips"`
	CheckType       string   `json:"check_type"`
	ErrorMsg        *string  `json:"error_msg"`
	ClientIPSources []string `json:"client_ip_sources"`
	CheckPhase      string   `json:"check_phase"`
}

func newIPCheck(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg ipCheckConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if cfg.IPs == nil {
		return nil, Invalid("ips", "is required")
	}
	if cfg.CheckType == "" {
		return nil, Invalid("check_type", "is required")
	}
	checkType, err := OneOf("check_type", cfg.CheckType, "", "blacklist", "whitelist")
	if err != nil {
		return nil, err
	}
	phase, err := OneOf("check_phase", cfg.CheckPhase, "access", "access", "rewrite")
	if err != nil {
		return nil, err
	}
	p := &ipCheckPolicy{blacklist: checkType == "blacklist", rewrite: phase == "rewrite",
		body:   []byte("IP address not allowed\n"),
		denied: env.Metrics.Policy.WithLabelValues("ip_check", "denied")}
	if cfg.ErrorMsg != nil {
		p.body = []byte(*cfg.ErrorMsg + "\n")
	}
	for i, s := range cfg.IPs {
		pfx, err := parseIPOrPrefix(s)
		if err != nil {
			return nil, Invalid("ips["+strconv.Itoa(i)+"]", "%q is neither an IP nor a CIDR range: %v", s, err)
		}
		p.prefixes = append(p.prefixes, pfx)
	}
	if cfg.ClientIPSources == nil {
		cfg.ClientIPSources = []string{"last_caller"}
	}
	if n := len(cfg.ClientIPSources); n < 1 || n > 3 {
		return nil, Invalid("client_ip_sources", "must list 1 to 3 sources, not %d", n)
	}
	for i, s := range cfg.ClientIPSources {
		src, err := OneOf("client_ip_sources["+strconv.Itoa(i)+"]", s, "", "X-Forwarded-For", "X-Real-IP", "proxy_protocol_addr", "last_caller")
		if err != nil {
			return nil, err
		}
		p.sources = append(p.sources, map[string]ipSource{"last_caller": ipFromLastCaller, "X-Forwarded-For": ipFromXForwardedFor,
			"X-Real-IP": ipFromXRealIP, "proxy_protocol_addr": ipFromProxyProtocol}[src])
	}
	return p, nil
}

// parseIPOrPrefix reads "1.2.3.4", "1.2.3.0/24", "2001:db8::1" or
// "2001:db8::/32"; a prefix with host bits set ("1.1.1.0/4") is masked.
func parseIPOrPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if pfx.Addr().Is4In6() {
			if pfx.Bits() < 96 {
				return pfx.Masked(), nil
			}
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (p *ipCheckPolicy) Name() string { return "ip_check" }

// Rewrite checks when check_phase is rewrite.
func (p *ipCheckPolicy) Rewrite(c *Context) {
	if p.rewrite {
		p.check(c)
	}
}

// Access checks, as APIcast does.
func (p *ipCheckPolicy) Access(c *Context) {
	if !p.rewrite {
		p.check(c)
	}
}

func (p *ipCheckPolicy) check(c *Context) {
	ip, found := p.clientIP(c.R)
	if !found || p.listed(ip) == p.blacklist {
		p.denied.Inc()
		c.Respond(http.StatusForbidden, "text/plain; charset=utf-8", p.body)
	}
}

// listed reports whether ip is in a range of the list; an address that does
// not parse is in none, so a whitelist refuses it and a blacklist lets it
// through, as APIcast's iputils does.
func (p *ipCheckPolicy) listed(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the first IP a source yields; found is false when none does.
func (p *ipCheckPolicy) clientIP(r *http.Request) (ip string, found bool) {
	for _, src := range p.sources {
		switch src {
		case ipFromLastCaller:
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			if host != "" {
				return host, true
			}
		case ipFromXRealIP:
			if v := r.Header["X-Real-Ip"]; len(v) > 0 && v[0] != "" {
				return forwardedHost(v[0]), true
			}
		case ipFromXForwardedFor:
			// The first address of the first header line: the client as the
			// first proxy saw it.
			if v := r.Header["X-Forwarded-For"]; len(v) > 0 && v[0] != "" {
				first, _, _ := strings.Cut(v[0], ",")
				return forwardedHost(first), true
			}
		}
	}
	return "", false
}

// forwardedHost is the address in a forwarded value, which nginx's realip
// module reads as an RFC 3986 host with an optional port: "1.2.3.4",
// "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:443".
// A value of another form is returned as is, and matches no range.
func forwardedHost(v string) string {
	v = strings.TrimSpace(v)
	if host, _, err := net.SplitHostPort(v); err == nil {
		return host
	}
	if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
		return v[1 : len(v)-1]
	}
	return v
}
