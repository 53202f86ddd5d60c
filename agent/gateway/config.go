package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/internal/http1"
)

// Config turns on the gateway in the agent: an APIcast-style proxy in
// front of the app that authorizes every request against the agent's
// composition snapshot, counts its usage and forwards it.
type Config struct {
	Listen   string // address the gateway listens on, e.g. ":8080"
	Upstream string // the app, e.g. http://127.0.0.1:3000

	MaxBodyBytes    int64         // request body bound; default DefaultMaxBody
	MaxConns        int           // client connections open at once; default DefaultMaxConns
	UpstreamTimeout time.Duration // how long the app may take to answer with headers; default DefaultUpstreamTimeout
	// BodyTimeout bounds the time between two reads of a client's request
	// body, as nginx's client_body_timeout: past it the client gets 408 and
	// its connection (HTTP/2: its stream) is closed. Default DefaultBodyTimeout.
	BodyTimeout time.Duration

	// ExtendedMetrics fills APIcast's service_id and service_system_name
	// labels in, as APICAST_EXTENDED_METRICS does (metrics_apicast.go).
	ExtendedMetrics bool
	// OTelEndpoint, when set, is the OTLP/HTTP collector the gateway sends
	// a span per request to (tracing.go); empty: no tracing, no cost.
	OTelEndpoint string
	// OTelInsecureHTTP allows an http:// OTelEndpoint on a host other than
	// loopback (--otel-insecure-http): spans then cross the network in
	// clear (checkOTLPClearText says what they carry).
	OTelInsecureHTTP bool

	TLS TLS // TLS to clients (and HTTP/2) and to https upstreams; see tls.go

	// OIDCInsecureIssuers lets OpenID Connect issuers' discovery documents
	// and key sets (jwt_parser's too), and token_introspection's endpoint,
	// be reached over plain HTTP off loopback, warned once per issuer or
	// configuration: anyone on the way could then serve their own keys and
	// mint tokens the gateway accepts, or read the tokens and client
	// credentials introspection sends. Off, plain HTTP reaches loopback only.
	OIDCInsecureIssuers bool

	// ContentCaching is where the content_caching policy keeps responses.
	ContentCaching policy.ContentCaching

	// ReportInterval is how often the agent reports usage to home, which
	// 3scale_batcher's batch_report_seconds must not be shorter than; 0:
	// unknown, not checked.
	ReportInterval time.Duration
}

// Gateway defaults.
const (
	DefaultMaxBody         = 10 << 20
	DefaultMaxConns        = 16384 // far more clients than one app serves, far fewer than exhaust descriptors
	DefaultUpstreamTimeout = 60 * time.Second
	DefaultBodyTimeout     = http1.DefaultBodyTimeout // nginx's client_body_timeout

	idleConns = 1024 // kept per upstream host
)

// Check validates the configuration, fills in defaults, loads the TLS files
// it names and returns the upstream's URL. New takes a checked Config.
func (c *Config) Check() (*url.URL, error) {
	if c.Listen == "" {
		return nil, errors.New("--gateway-listen is empty")
	}
	u, err := url.Parse(c.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--upstream %q: want the app's http(s) URL, like http://127.0.0.1:3000", c.Upstream)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBody
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.UpstreamTimeout <= 0 {
		c.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if err := checkOTelEndpoint(c.OTelEndpoint, c.OTelInsecureHTTP); err != nil {
		return nil, err
	}
	if err := checkContentCaching(c.ContentCaching); err != nil {
		return nil, err
	}
	if err := c.TLS.check(); err != nil {
		return nil, err
	}
	return u, nil
}

// checkContentCaching names the first content_caching setting that cannot
// be used.
func checkContentCaching(s policy.ContentCaching) error {
	for _, code := range s.StatusCodes {
		if code < 100 || code > 599 {
			return fmt.Errorf("--gateway-cache-status-codes: %d is not an HTTP status (100 to 599)", code)
		}
	}
	if s.MaxTime < 0 {
		return fmt.Errorf("--gateway-cache-max-time: %v is negative", s.MaxTime)
	}
	if s.MaxBytes < 0 {
		return fmt.Errorf("--gateway-cache-size: %d is negative", s.MaxBytes)
	}
	return nil
}
