package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/portolan/portolan/internal/certreload"
)

// upstreamTrust is what https upstreams (and camel's proxy) are verified
// against: the CAs of --upstream-ca-file as they are, read again when the
// file changes (certreload.Pool), or the system's.
//
// crypto/tls takes a configuration's RootCAs as they are, and net/http
// clones its Transport's configuration for each connection, so new CAs
// cannot be handed to a Transport in use. Verifying in VerifyConnection
// instead (InsecureSkipVerify) would not do: its ConnectionState has no
// server name for an upstream reached by IP address, which crypto/tls
// checks against the certificate's IP addresses. So each Transport that
// verifies with the agent's CAs is made again, with the new ones, by the
// first request after they change (caTransport); crypto/tls verifies as
// ever.
type upstreamTrust struct {
	cas *certreload.Pool // --upstream-ca-file's; nil: the system's
	err error            // the agent's upstream settings did not load: every handshake fails with it

	baseOnce sync.Once
	base     roundTripCloser // the gateway's own transport, with the CAs as they are
}

// roundTripCloser is an http.Transport, or a caTransport.
type roundTripCloser interface {
	http.RoundTripper
	CloseIdleConnections()
}

// roots is what upstreams are verified against now: nil for the system's.
func (t *upstreamTrust) roots() *x509.CertPool {
	if t == nil || t.cas == nil {
		return nil
	}
	return t.cas.Current()
}

// apply makes cfg verify upstreams against roots (the agent's CAs as
// roots gave them), failing every handshake when the agent's settings
// did not load.
func (t *upstreamTrust) apply(cfg *tls.Config, roots *x509.CertPool) {
	t.applyOwn(cfg, roots, false)
}

// applyOwn makes cfg verify upstreams against roots (nil: the system's),
// or not at all when insecure (upstream_mtls's verify: false). A failure
// to load the agent's settings still fails every handshake.
func (t *upstreamTrust) applyOwn(cfg *tls.Config, roots *x509.CertPool, insecure bool) {
	cfg.RootCAs = roots
	cfg.InsecureSkipVerify = insecure
	cfg.VerifyConnection = nil
	if t != nil && t.err != nil {
		err := t.err
		cfg.VerifyConnection = func(tls.ConnectionState) error { return err }
	}
}

// transport is build's Transport for the agent's CAs: made again with the
// new CAs when --upstream-ca-file changes; build's own when the CAs are
// the system's.
func (t *upstreamTrust) transport(build func(roots *x509.CertPool) *http.Transport) roundTripCloser {
	if t == nil || t.cas == nil {
		return build(nil)
	}
	return &caTransport{pool: t.cas, build: build}
}

// baseTransport is the gateway's own transport (g.transport) with the
// agent's CAs as they are: what https upstreams and upgrades are sent by.
func (g *Gateway) baseTransport() roundTripCloser {
	t := g.cfg.TLS.trust
	if t == nil {
		return g.transport
	}
	t.baseOnce.Do(func() {
		t.base = t.transport(func(roots *x509.CertPool) *http.Transport {
			if roots == nil {
				return g.transport
			}
			tr := g.transport.Clone()
			t.apply(tr.TLSClientConfig, roots)
			return tr
		})
	})
	return t.base
}

// caTransport sends requests with a Transport made for the CAs of pool as
// they are: the first request after they change makes a new one, and the
// idle connections of the previous one are closed (those in use finish,
// then idle out): a CA dropped from the file is trusted by no new
// connection.
type caTransport struct {
	pool  *certreload.Pool
	build func(roots *x509.CertPool) *http.Transport

	mu  sync.Mutex // one build at a time
	cur atomic.Pointer[caTransportOf]
}

// caTransportOf is a Transport and the CAs it was made with.
type caTransportOf struct {
	roots *x509.CertPool
	tr    *http.Transport
}

func (c *caTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return c.current().RoundTrip(r)
}

// CloseIdleConnections closes the current Transport's idle connections.
func (c *caTransport) CloseIdleConnections() {
	if cur := c.cur.Load(); cur != nil {
		cur.tr.CloseIdleConnections()
	}
}

// current is the Transport of the CAs as they are (the pool's look at its
// file, at most once a second, is an atomic load otherwise).
func (c *caTransport) current() *http.Transport {
	roots := c.pool.Current()
	if cur := c.cur.Load(); cur != nil && cur.roots == roots {
		return cur.tr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Read again under the lock: a request that read the CAs before a
	// change and took the lock after another installed the new ones must
	// not put the old ones back.
	roots = c.pool.Current()
	prev := c.cur.Load()
	if prev != nil && prev.roots == roots {
		return prev.tr
	}
	if prev != nil && prev.roots.Equal(roots) {
		// The file read again with the same CAs (rewritten as it was, a
		// chmod): the Transport and its connections stay.
		c.cur.Store(&caTransportOf{roots: roots, tr: prev.tr})
		return prev.tr
	}
	next := &caTransportOf{roots: roots, tr: c.build(roots)}
	c.cur.Store(next)
	if prev != nil {
		prev.tr.CloseIdleConnections()
	}
	return next.tr
}
