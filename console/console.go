package console

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// Prefix is where the console is served.
const Prefix = "/ui/"

// Usage is what the traffic pages read of home's usage counters
// (*usage.Store satisfies it).
type Usage interface {
	// Totals returns the non-zero counters of the current periods of every
	// application of a service.
	Totals(serviceID int64, now time.Time) []registry.UsageTotal
	// ServiceSums and AppSums return committed usage of a metric in each
	// span [bounds[i], bounds[i+1]).
	ServiceSums(serviceID, metricID int64, bounds []time.Time) ([]int64, error)
	AppSums(appID, metricID int64, bounds []time.Time) ([]int64, error)
	// AppValues returns an application's stored counters of a metric in the
	// periods starting at starts: the traffic page reads the minute
	// counters (kept 48 hours) for its last-hour chart.
	AppValues(appID, metricID int64, period string, starts []time.Time) ([]int64, error)
}

// Map is the instance registry as the console sees it (*registry.Registry
// satisfies it).
type Map interface {
	// MapPageSummary, MapPage and MapOne read part of the map without
	// copying the fleet: a page with the counts beside it, a page, one
	// instance.
	MapPageSummary(page, counts registry.MapQuery) (registry.Map, registry.MapSummary)
	MapPage(q registry.MapQuery) registry.Map
	MapOne(id string) (registry.Map, bool)
	Index() uint64
	// Wait blocks until the map's index passes index or ctx ends.
	Wait(ctx context.Context, index uint64) (uint64, error)
	TTL() time.Duration
}

// Config wires a console to what it shows.
type Config struct {
	Snapshot func() *composition.Snapshot
	Map      Map
	Usage    Usage
	// Tokens checks the access token an operator logs in with.
	Tokens *threescale.TokenChecker
	// Secure marks the session cookie Secure: set when the coordinator
	// serves HTTPS. PublicURL overrides it.
	Secure bool
	// PublicURL, when set, is the URL operators open, in front of a
	// reverse proxy (ParsePublicURL): its scheme decides whether cookies
	// are Secure, and its origin is the only one a form may be posted
	// from (proxy.go). Without it, the request's own host and TLS make the
	// origin.
	PublicURL *url.URL
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// failed logins are counted by client address (ParseTrustedProxies);
	// from any other peer the header is ignored.
	TrustedProxies []netip.Prefix
	Version        string
	Logger         zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the pages. It is an http.Handler for Prefix.
type Console struct {
	cfg      Config
	pages    *pages
	mux      *http.ServeMux
	sessions *sessions
	logins   *loginLimiter // failed logins by address (login_limit.go)
	streams  chan struct{} // one token per open event stream (events.go)
	views    streamViews   // the streams' shared views (events.go)
}

// New returns a console over cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Snapshot == nil || cfg.Map == nil || cfg.Tokens == nil {
		return nil, errors.New("console: a snapshot, a map and a token checker are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, pages: p, mux: http.NewServeMux(), sessions: newSessions(), logins: newLoginLimiter(), streams: make(chan struct{}, maxStreams)}
	c.routes()
	return c, nil
}

// ServeHTTP serves a console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The console's pages load only what it embeds: no frames, no inline
	// script, no third-party origin.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY") // frame-ancestors' twin, for a browser without CSP 2
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser posts forms
	// with "Origin: null", and the console's POSTs check their origin.
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}
