package policy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/portolan/portolan/internal/loopback"
)

// Transport is how the gateway reaches the upstream when policies change
// it: upstream_mtls (the TLS session), http_proxy and camel (through a
// forward proxy), grpc (HTTP/2 end to end). Each such policy holds one,
// built once with its chain, and sets it on the request's Context with
// Over, so that several of them in a chain add up. Its settings never
// change once built: the gateway keys the upstreams it keeps for a
// Transport by its pointer, and a request that sets none never shares
// them.
type Transport struct {
	TLS   *UpstreamTLS   // upstream_mtls's; nil: the agent's (--upstream-ca-file, --upstream-client-cert)
	Proxy *UpstreamProxy // http_proxy's or camel's; nil: the upstream directly
	HTTP2 bool           // grpc: HTTP/2 to the upstream, and nothing else

	mu     sync.Mutex                         // serialises additions to merged
	merged atomic.Pointer[[]transportMerging] // what Over made of this over another, lately
}

// UpstreamTLS is upstream_mtls's TLS session with the upstream.
type UpstreamTLS struct {
	// Certificate is presented when the upstream asks for one; nil: the
	// agent's --upstream-client-cert, if any.
	Certificate *tls.Certificate
	// RootCAs verify the upstream's certificate; nil: --upstream-ca-file's,
	// or the system's.
	RootCAs *x509.CertPool
	// Insecure: the upstream's certificate is not verified (verify false,
	// an explicit choice logged when the chain is built).
	Insecure bool
}

// UpstreamProxy is the forward proxy of http_proxy or camel. A loopback
// upstream (localhost, 127.0.0.0/8, ::1: usually the app beside the agent)
// is never reached through it, as Go's and curl's proxy settings never
// proxy loopback: the proxy, maybe on another host, would reach its own
// loopback instead, with the client's credentials and the secret token.
type UpstreamProxy struct {
	HTTP  *url.URL // the proxy of http upstreams; nil: direct
	HTTPS *url.URL // the proxy of https upstreams; nil: direct
	// Absolute: camel. Every request, https ones too, goes to the proxy in
	// absolute form ("GET https://upstream/path"), without CONNECT: the
	// proxy itself speaks to the upstream (and does its TLS). An https
	// proxy URL means TLS with the proxy.
	Absolute bool
}

// For returns the proxy of an upstream u; nil: direct, as for a loopback
// upstream (Bypasses) or a scheme without a proxy.
func (p *UpstreamProxy) For(u *url.URL) *url.URL {
	if Bypasses(u.Hostname()) {
		return nil
	}
	if u.Scheme == "https" {
		return p.HTTPS
	}
	return p.HTTP
}

// Bypasses reports whether an upstream host (a URL's Hostname) is reached
// directly whatever proxy a policy names: "localhost" and loopback
// addresses. Other names are not resolved, as in Go's httpproxy.
func Bypasses(host string) bool { return loopback.Host(host) }

// transportMerging is one result of Over: t over prev is out.
type transportMerging struct {
	prev, out *Transport
}

// maxTransportMergings bounds what a Transport remembers of Over: a chain
// runs its policies in one order, so one is the rule.
const maxTransportMergings = 4

// Over returns what the upstream is reached with when t's policy runs
// after those that made prev: t's settings, and prev's for those t leaves
// alone. The result for a given prev is made once and kept, so that every
// request of a chain gets the same pointer: no allocation per request, and
// the same upstreams (and their connections) for all.
func (t *Transport) Over(prev *Transport) *Transport {
	if prev == nil || prev == t {
		return t
	}
	if ms := t.merged.Load(); ms != nil {
		for _, m := range *ms {
			if m.prev == prev {
				return m.out
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var kept []transportMerging
	if ms := t.merged.Load(); ms != nil {
		for _, m := range *ms {
			if m.prev == prev {
				return m.out
			}
		}
		kept = *ms
	}
	out := &Transport{TLS: prev.TLS, Proxy: prev.Proxy, HTTP2: prev.HTTP2 || t.HTTP2}
	if t.TLS != nil {
		out.TLS = t.TLS
	}
	if t.Proxy != nil {
		out.Proxy = t.Proxy
	}
	if len(kept) >= maxTransportMergings {
		kept = kept[1:]
	}
	next := append(append(make([]transportMerging, 0, len(kept)+1), kept...), transportMerging{prev, out})
	t.merged.Store(&next)
	return out
}

// maxSharedTransports bounds the transports kept across chains.
const maxSharedTransports = 64

// sharedTransports are the transports of the configurations the gateway ran
// lately, by a digest of the policy's name, configuration and the files it
// read: a chain rebuilt at a new composition revision with the same
// configuration gets the same Transport, and so keeps its upstreams'
// connections.
type sharedTransports struct {
	mu  sync.Mutex
	lru *simplelru.LRU[[32]byte, *Transport]
}

// sharedTransport returns the transport kept for key in env.Shared, or
// keeps and returns t. Without Shared (home's check, unit tests) it is t.
func sharedTransport(env *Env, key [32]byte, t *Transport) *Transport {
	if env == nil || env.Shared == nil {
		return t
	}
	all := env.Shared.Get("upstream_transport", func() any {
		l, _ := simplelru.NewLRU[[32]byte, *Transport](maxSharedTransports, nil)
		return &sharedTransports{lru: l}
	}).(*sharedTransports)
	all.mu.Lock()
	defer all.mu.Unlock()
	if kept, ok := all.lru.Get(key); ok {
		return kept
	}
	all.lru.Add(key, t)
	return t
}

// transportKey digests what makes a policy's Transport: its name, its
// configuration and the contents of the files it read. The digest is a map
// key, never logged.
func transportKey(policy string, conf []byte, files ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(policy))
	h.Write([]byte{0})
	h.Write(conf)
	for _, f := range files {
		h.Write([]byte{0})
		h.Write(f)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// proxyURL reads a forward proxy's URL at field: http (https too when
// allowHTTPS) with a host and no credentials ("Authentication is not
// supported", the manifest says: the gateway refuses them rather than
// drop them or send them), never a link-local address, where cloud
// metadata services answer, and a host in ASCII (an IDN in its punycode
// form, which is what the gateway dials and guards). Its path, query and
// fragment are not used, as in APIcast. "" is no proxy.
func proxyURL(field, s string, allowHTTPS bool) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, Invalid(field, "not a URL (want http://proxy:port)")
	}
	switch {
	case u.Scheme == "http":
	case u.Scheme == "https" && allowHTTPS:
	case allowHTTPS:
		return nil, Invalid(field, "want an http:// or https:// proxy URL such as http://proxy:3128, not scheme %q", u.Scheme)
	default:
		return nil, Invalid(field, "want an http:// proxy URL such as http://proxy:3128, not scheme %q: APIcast connects to proxies in plain HTTP only", u.Scheme)
	}
	if u.User != nil {
		return nil, Invalid(field, "proxy credentials (user:password@) are not supported (the manifest: \"Authentication is not supported\"): give the proxy's URL without them")
	}
	if u.Hostname() == "" {
		return nil, Invalid(field, "has no host (want http://proxy:port)")
	}
	if !isASCII(u.Hostname()) {
		// The gateway dials a name's punycode form: one host, written
		// one way, is what its dial guard and the logs see.
		return nil, Invalid(field, "host %q is not ASCII: give the host in ASCII (punycode, xn--...)", u.Hostname())
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil || p == "0" {
			return nil, Invalid(field, "has an invalid port %q", p)
		}
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ForbiddenProxyAddr(ip) {
		return nil, Invalid(field, "%s is a link-local, multicast or unspecified address: the gateway never reaches one through a proxy setting (cloud metadata services answer there)", ip)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// isASCII reports whether s holds ASCII bytes only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// awsIMDSv6 is the IPv6 address of EC2's instance metadata service.
var awsIMDSv6 = netip.MustParseAddr("fd00:ec2::254")

// ForbiddenProxyAddr reports whether ip is where no proxy setting may lead:
// link-local (169.254.169.254 and the other cloud metadata services),
// multicast, unspecified, or EC2's IPv6 metadata address. The gateway
// checks it again when it dials, whatever a name resolved to.
func ForbiddenProxyAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || ip == awsIMDSv6
}
