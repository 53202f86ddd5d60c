package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/net/http/httpproxy"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// oidcAlgs are the signature algorithms the gateway accepts: RS256 and
// ES256, never none nor HMAC (whose key would be public material).
var oidcAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// OpenID Connect bounds and intervals.
const (
	maxOIDCIssuers     = 16               // issuers kept; a gateway serves one service, so this is plenty
	oidcFetchTimeout   = 10 * time.Second // one discovery or JWKS fetch, headers and body
	oidcRetryAfter     = 5 * time.Second  // a failed discovery is not retried sooner
	oidcMinRefetch     = 10 * time.Second // an unknown kid refetches the JWKS at most this often
	oidcKeysMaxAge     = 15 * time.Minute // older keys are refreshed in the background
	maxOIDCMetadata    = 1 << 20          // bytes of a discovery document or JWKS
	maxOIDCHeaderBytes = 64 << 10

	// oidcKeysMaxStale bounds how long keys the issuer could not confirm
	// are used: past it every token is refused until the issuer answers.
	// Six hours ride out an outage of the issuer (or of the way to it)
	// while a key the issuer withdrew, because it leaked, stops being
	// honoured the same day by a gateway cut off from it.
	oidcKeysMaxStale = 6 * time.Hour
)

// oidcIssuers are the OpenID Connect issuers the gateway's services name,
// each discovered once and kept across views (a view is rebuilt at every
// composition revision; the issuer's keys need not be fetched again), and
// again when their keys cannot be fetched (see keySet.rediscover).
type oidcIssuers struct {
	client *http.Client
	// transport carries the client's HTTPS fetches, plain those in clear:
	// each dials under its own rule (refuseLinkLocal, refuseOffLoopback).
	// plain goes through no proxy unless insecure: its dial rule would
	// judge the proxy's address, and a proxy on loopback (a sidecar)
	// carries the fetch off the host in clear.
	transport, plain *http.Transport
	proxy            func(*http.Request) (*url.URL, error) // the environment's
	// insecure lets plain HTTP leave loopback (allowPlainHTTP); log warns
	// of each issuer it lets through.
	insecure bool
	log      zerolog.Logger

	minRefetch   time.Duration
	keysMaxAge   time.Duration
	keysMaxStale time.Duration
	retryAfter   time.Duration

	fetches, unavailable prometheus.Counter

	mu    sync.Mutex
	byURL map[string]*oidcIssuer

	// ctx bounds every fetch, the background ones included; stop ends them
	// when the gateway stops.
	ctx  context.Context
	stop context.CancelFunc
}

func newOIDCIssuers(m *policy.Metrics) *oidcIssuers {
	ctx, stop := context.WithCancel(context.Background())
	proxy := environmentProxy()
	tr, plain := newIssuerTransport(refuseLinkLocal, proxy), newIssuerTransport(refuseOffLoopback, nil)
	return &oidcIssuers{
		client: &http.Client{
			Timeout:       oidcFetchTimeout,
			Transport:     limitedBodies{bySchemes{tls: tr, plain: plain}},
			CheckRedirect: noRedirects,
		},
		transport:    tr,
		plain:        plain,
		log:          zerolog.Nop(),
		minRefetch:   oidcMinRefetch,
		keysMaxAge:   oidcKeysMaxAge,
		keysMaxStale: oidcKeysMaxStale,
		retryAfter:   oidcRetryAfter,
		proxy:        proxy,
		fetches:      m.Policy.WithLabelValues("apicast", "oidc_metadata_fetch"),
		unavailable:  m.Policy.WithLabelValues("apicast", "oidc_issuer_unavailable"),
		byURL:        map[string]*oidcIssuer{},
		ctx:          ctx, stop: stop,
	}
}

// newIssuerTransport is a transport of the issuer client, dialling under
// control, through proxy when it names one (nil: none).
func newIssuerTransport(control func(network, address string, c syscall.RawConn) error, proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	return &http.Transport{
		Proxy: proxy,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
			Control: control}).DialContext,
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  oidcFetchTimeout,
		MaxResponseHeaderBytes: maxOIDCHeaderBytes,
		MaxIdleConns:           4,
		IdleConnTimeout:        90 * time.Second,
	}
}

// environmentProxy is the proxy of HTTP_PROXY, HTTPS_PROXY and NO_PROXY,
// read when the gateway is made: issuers are often outside, reached as
// any outbound call.
func environmentProxy() func(*http.Request) (*url.URL, error) {
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
}

// allowPlainHTTP lets issuers be read over plain HTTP off loopback
// (Config.OIDCInsecureIssuers), through the environment's proxy too,
// warning on log once for each issuer that is. New calls it before the
// gateway serves.
func (x *oidcIssuers) allowPlainHTTP(log zerolog.Logger) {
	x.insecure, x.log = true, log
	x.plain.Proxy = x.proxy
	x.plain.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		Control: refuseLinkLocal}).DialContext
}

// close cancels the fetches in progress and drops kept-alive connections
// (the client's own CloseIdleConnections cannot reach them through
// limitedBodies).
func (x *oidcIssuers) close() {
	x.stop()
	x.transport.CloseIdleConnections()
	x.plain.CloseIdleConnections()
}

// get returns the issuer of url (without credentials), made on first use.
func (x *oidcIssuers) get(url string) *oidcIssuer {
	x.mu.Lock()
	defer x.mu.Unlock()
	if iss, ok := x.byURL[url]; ok {
		return iss
	}
	if len(x.byURL) >= maxOIDCIssuers {
		for k := range x.byURL { // one the service map no longer names, most likely
			delete(x.byURL, k)
			break
		}
	}
	iss := &oidcIssuer{x: x, url: url}
	x.byURL[url] = iss
	return iss
}

// oidcIssuer is one issuer: its verifier once discovery has succeeded.
// Discovery runs on the first request that needs it, never more than one
// at a time, and not again within retryAfter of a failure: while the
// issuer is unreachable, requests are refused at once instead of each
// waiting for a timeout.
type oidcIssuer struct {
	x   *oidcIssuers
	url string

	verifier atomic.Pointer[oidcVerifier]
	verified verifiedTokens // tokens whose signature and iss were checked
	warned   atomic.Bool    // of plain HTTP off loopback, when insecure

	mu       sync.Mutex
	inflight chan struct{}
	lastTry  time.Time
	lastErr  error
}

// oidcVerifier is what discovery found: the verifier, the issuer name
// tokens must carry, and the key set whose age bounds the verified tokens.
type oidcVerifier struct {
	*oidc.IDTokenVerifier
	issuer string
	keys   *keySet
}

// errIssuerUnavailable wraps a failed discovery.
var errIssuerUnavailable = errors.New("OpenID Connect issuer unavailable")

// verifierFor returns the issuer's verifier, discovering it when needed and
// waiting for that as long as ctx allows.
func (i *oidcIssuer) verifierFor(ctx context.Context) (*oidcVerifier, error) {
	if v := i.verifier.Load(); v != nil {
		return v, nil
	}
	i.mu.Lock()
	if i.inflight == nil {
		if !i.lastTry.IsZero() && time.Since(i.lastTry) < i.x.retryAfter {
			err := i.lastErr
			i.mu.Unlock()
			return nil, err
		}
		i.lastTry = time.Now()
		done := make(chan struct{})
		i.inflight = done
		go i.discover(done) // bounded by oidcFetchTimeout per fetch: it ends on its own
	}
	done := i.inflight
	i.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errIssuerUnavailable, ctx.Err())
	}
	if v := i.verifier.Load(); v != nil {
		return v, nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return nil, i.lastErr
}

// discover reads the discovery document and the JWKS, and publishes the
// verifier; on failure it records why.
func (i *oidcIssuer) discover(done chan struct{}) {
	v, err := i.newVerifier()
	i.mu.Lock()
	if err != nil {
		i.lastErr = fmt.Errorf("%w: %w", errIssuerUnavailable, err)
		i.x.unavailable.Inc()
	} else {
		i.verifier.Store(v)
	}
	i.inflight = nil
	i.mu.Unlock()
	close(done)
}

func (i *oidcIssuer) newVerifier() (*oidcVerifier, error) {
	ctx, cancel := context.WithTimeout(i.x.ctx, 2*oidcFetchTimeout)
	defer cancel()
	i.x.fetches.Inc()
	meta, err := i.x.discover(ctx, i.url)
	if err != nil {
		return nil, err
	}
	if i.x.insecure && (plainOffLoopback(i.url) || plainOffLoopback(meta.JWKS)) && i.warned.CompareAndSwap(false, true) {
		jwks, _ := url.Parse(meta.JWKS) // parsed by discover
		i.x.log.Warn().Str("issuer", i.url).Str("jwks_uri", clip(jwks.Redacted())).
			Msg("gateway: OpenID Connect issuer read over plain HTTP, not known to stay on loopback (--oidc-insecure-issuers): " +
				"anyone on the way can serve their own keys and mint tokens the gateway accepts")
	}
	// As APIcast: the algorithms are those the issuer announces, here
	// within RS256 and ES256.
	var algs []string
	for _, a := range oidcAlgs {
		if slices.Contains(meta.Algs, string(a)) {
			algs = append(algs, string(a))
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("the issuer signs with none of RS256, ES256 (it announces %q)", meta.Algs)
	}
	keys := &keySet{ctx: i.x.ctx, url: meta.JWKS, client: i.x.client, minRefetch: i.x.minRefetch, maxAge: i.x.keysMaxAge,
		maxStale: i.x.keysMaxStale, refetched: i.x.fetches.Inc, removed: i.verified.clear}
	set, err := keys.fetch(ctx)
	if err != nil {
		return nil, err
	}
	keys.keys.Store(&fetchedKeys{set: set, at: time.Now()})
	keys.lastTry = time.Now()
	v := &oidcVerifier{issuer: meta.Issuer, keys: keys}
	v.IDTokenVerifier = oidc.NewVerifier(meta.Issuer, keys, &oidc.Config{
		SkipClientIDCheck:    true, // the client is the azp claim's, checked against the applications
		SkipExpiryCheck:      true, // exp and nbf are checked with the gateway's leeway (checkClaims)
		SupportedSigningAlgs: algs,
	})
	keys.rediscover = func() (jose.JSONWebKeySet, error) { return i.rediscover(v) }
	return v, nil
}

// rediscover runs discovery again for the keys of old, which could not be
// fetched or are too old to use (the jwks_uri, the issuer's name or its
// algorithms may have changed), publishes the verifier it makes, and
// returns its keys. When old is no longer the issuer's verifier, the
// current one's keys are returned without a fetch.
func (i *oidcIssuer) rediscover(old *oidcVerifier) (jose.JSONWebKeySet, error) {
	cur := i.verifier.Load()
	if cur == old {
		v, err := i.newVerifier()
		if err != nil {
			return jose.JSONWebKeySet{}, err
		}
		if i.verifier.CompareAndSwap(old, v) {
			i.verified.clear() // verified against the old discovery's issuer and keys
		}
		cur = i.verifier.Load()
	}
	return cur.keys.keys.Load().set, nil
}

// bySchemes sends HTTPS requests through tls and the others through plain.
type bySchemes struct{ tls, plain http.RoundTripper }

func (b bySchemes) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "https" {
		return b.tls.RoundTrip(r)
	}
	return b.plain.RoundTrip(r)
}

// limitedBodies bounds every response body the issuer client reads: a
// discovery document or JWKS past maxOIDCMetadata is an error, not memory.
type limitedBodies struct{ base http.RoundTripper }

func (l limitedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err == nil {
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxOIDCMetadata}
	}
	return resp, err
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("the issuer's answer is over %d bytes", maxOIDCMetadata)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
