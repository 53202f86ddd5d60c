package threescale

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
)

// MaxBodyBytes bounds every request body of the API.
const MaxBodyBytes = 1 << 20

// MaxPerPage is 3scale's upper bound on per_page.
const MaxPerPage = 500

// Route is one operation the API serves. The route table drives the router,
// the generated OpenAPI description and the auth tests alike.
type Route struct {
	Method  string
	Path    string // without format suffix, Go ServeMux wildcards: /admin/api/services/{id}
	Tag     string
	Summary string
	Formats []Format // suffixes the operation answers to; JSON when empty
	Status  int      // success status, 200 when zero
	// Scope is the access-token scope the operation needs (routeTable sets
	// it); a route without one is refused to every token. OrScope is
	// another that will do, where porta's controller names two
	// (access_token_scopes): a token holding either may call it.
	Scope, OrScope string
	// Section is the admin section a provider member's token needs
	// besides its scope's (routeTable sets it: sectionOf in permissions.go).
	Section string
	handle  func(*call) error
}

// Writes reports whether the operation needs permission rw: as in 3scale,
// anything but GET and HEAD.
func (rt *Route) Writes() bool {
	return rt.Method != http.MethodGet && rt.Method != http.MethodHead
}

// API serves 3scale's Account Management API on a composition store.
type API struct {
	store   composition.Store
	tokens  *TokenChecker
	routes  []Route
	mux     *http.ServeMux
	handler http.Handler
	caps    []capped       // see SetCaps; nil is the defaults
	public  *url.URL       // see SetPublicURL; nil is the request's own
	log     zerolog.Logger // see SetLogger; where server errors go

	builtin apicastPolicies // APIcast's built-in policies: SetAPIcastPolicies
	schemas policySchemas   // their configuration schemas, for chains saved (policy_validate.go)
}

// New returns the API over store, accepting the given access tokens.
func New(store composition.Store, tokens *TokenChecker) *API {
	a := &API{store: store, tokens: tokens, mux: http.NewServeMux(), log: zerolog.Nop(), caps: Caps{}.list()}
	a.routes = a.routeTable()
	for i := range a.routes {
		rt := &a.routes[i]
		a.mux.Handle(rt.Method+" "+rt.Path, a.endpoint(rt))
	}
	tokens.BodyLimit = MaxBodyBytes
	a.handler = tokens.Middleware(http.HandlerFunc(a.route))
	return a
}

// SetLogger sets where the API logs the errors it answers 5xx: their
// answers hide the detail, as 3scale's do, so the log is the operator's only
// sight of it. Call it before the API serves; without it nothing is logged.
func (a *API) SetLogger(log zerolog.Logger) { a.log = log }

// Routes returns the operations the API serves.
func (a *API) Routes() []Route { return a.routes }

// ServeHTTP checks the access token, then routes on the path with its format
// suffix removed.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The official client's legacy limit update/delete paths end in ".xml "
	// (sent as %20); a trailing space is no part of a resource path and
	// would hide the format suffix.
	if p := strings.TrimRight(r.URL.Path, " "); p != r.URL.Path {
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = p, ""
	}
	a.handler.ServeHTTP(w, r)
}

func (a *API) route(w http.ResponseWriter, r *http.Request) {
	f, path := FormatOf(r)
	r2 := r.Clone(context.WithValue(r.Context(), formatKey{}, f))
	r2.URL.Path, r2.URL.RawPath = path, escapedWithout(r.URL, len(r.URL.Path)-len(path))
	if _, pattern := a.mux.Handler(r2); pattern == "" {
		WriteError(w, f, ErrNotFound)
		return
	}
	a.mux.ServeHTTP(w, r2) // sets the path values the handlers read

}

// escapedWithout returns u's escaped path (RawPath) without its last n
// characters, the format suffix, or "" when u has none: the router then
// still tells an escaped "/" (an app key's "ab%2Fcd") from a separator.
func escapedWithout(u *url.URL, n int) string {
	raw := u.RawPath
	if raw == "" || n > len(raw) || raw[len(raw)-n:] != u.Path[len(u.Path)-n:] {
		return ""
	}
	return raw[:len(raw)-n]
}

// formatKey carries the format of the suffix that routing removed.
type formatKey struct{}

// call is one request to an operation.
type call struct {
	api    *API
	route  *Route
	w      http.ResponseWriter
	r      *http.Request
	format Format
	params *Params
}

func (a *API) endpoint(rt *Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _ := r.Context().Value(formatKey{}).(Format)
		if !rt.answers(f) {
			a.fail(w, r, rt, f, ErrNotFound)
			return
		}
		g, ok := GrantFrom(r.Context())
		if err := authorizeRoute(g, ok, rt, r); err != nil {
			a.fail(w, r, rt, f, err)
			return
		}
		p, err := ReadParams(w, r, MaxBodyBytes) // the params the token check read, if it did
		if err == nil && rt.Writes() {
			err = p.hashPasswords() // a read binds no password: it pays no hash
		}
		if err != nil {
			a.fail(w, r, rt, f, err)
			return
		}
		c := &call{api: a, route: rt, w: w, r: r, format: f, params: p}
		if err := rt.handle(c); err != nil {
			a.fail(w, r, rt, f, err)
		}
	})
}

// fail answers err, logging it when its status is a server error, with the
// route's pattern (never the path's ids or the query, which may hold a
// token). A call whose client went away is not logged: its error is the
// cancellation, no fault of the server.
func (a *API) fail(w http.ResponseWriter, r *http.Request, rt *Route, f Format, err error) {
	if status := StatusOf(err); status >= 500 && r.Context().Err() == nil {
		a.log.Error().Err(err).Int("status", status).Str("route", rt.Method+" "+rt.Path).Msg("Account Management API answered a server error")
	}
	WriteError(w, f, err)
}

func (rt *Route) answers(f Format) bool {
	if len(rt.Formats) == 0 {
		return f == JSON
	}
	for _, x := range rt.Formats {
		if x == f {
			return true
		}
	}
	return false
}

// id reads a numeric path wildcard; anything else is an unknown resource.
func (c *call) id(name string) (int64, error) {
	v, err := strconv.ParseInt(c.r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, ErrNotFound
	}
	return v, nil
}

func (c *call) encoder() Encoder { return Encoder{Format: c.format} }

func (c *call) status() int {
	if c.route.Status != 0 {
		return c.route.Status
	}
	return http.StatusOK
}

// one writes a single entity wrapped in name.
func (c *call) one(name string, v any) error {
	return c.write(func(w io.Writer) error { return c.encoder().One(w, name, v) })
}

// list writes a page of items.
func (c *call) list(listName, itemName string, items any) error {
	return c.write(func(w io.Writer) error { return c.encoder().List(w, listName, itemName, items) })
}

// write answers what encode writes, or returns its error, so that a failed
// encoding is answered and logged as every other server error (endpoint).
func (c *call) write(encode func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := encode(&buf); err != nil {
		return fmt.Errorf("encode the answer to %s %s: %w", c.route.Method, c.route.Path, err)
	}
	writeEncoded(c.w, c.format, c.status(), &buf)
	return nil
}

// page cuts items to the page and per_page parameters as porta's
// pagination reads them (Admin::Api::Filters::Pagination): each as Ruby's
// to_i, and a value out of range (a page below 1, a per_page outside 1 to
// 500) or no number at all falls back to the default, page 1 and per_page
// 500; nothing is refused, and the error is always nil.
func page[T any](c *call, items []T) ([]T, error) {
	pg, per := int64(1), int64(MaxPerPage)
	if v, ok := c.params.Get("page"); ok {
		if n := rubyInt(v); n >= 1 {
			pg = n
		}
	}
	if v, ok := c.params.Get("per_page"); ok {
		if n := rubyInt(v); n >= 1 && n <= MaxPerPage {
			per = n
		}
	}
	// Compare by division first: (pg-1)*per overflows for a huge page, and
	// a page past the end is empty, as porta answers.
	if pg-1 >= (int64(len(items))+per-1)/per {
		return items[:0], nil
	}
	start := (pg - 1) * per
	return items[start:min(start+per, int64(len(items)))], nil
}

// update commits fn as one revision.
func (c *call) update(fn func(*composition.Tx) error) (*composition.Snapshot, error) {
	var tally webhookTally
	snap, err := c.api.store.Update(c.r.Context(), c.api.withCaps(c.api.withWebhooks(c.api.CheckPolicyChains(fn), &tally)))
	if err == nil {
		c.api.countWebhooks(tally)
	}
	return snap, err
}

func (c *call) snapshot() *composition.Snapshot { return c.api.store.Snapshot() }

// bind sets dst's writable fields from the request parameters.
func (c *call) bind(dst any, create bool) error { return Bind(c.params, dst, create) }

// get returns entity id of table, or 404.
func get[E composition.Entity](t *composition.Table[E], id int64) (E, error) {
	e, ok := t.Get(id)
	if !ok {
		return e, ErrNotFound
	}
	return e, nil
}
