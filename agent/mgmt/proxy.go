package mgmt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/swagger"
)

// Proxy is the management proxy. Every request goes through, in order:
// the method (case-sensitive), the caller (no web page: browser.go), the
// headers (no method overrides, no names with an underscore), the path
// (normalizePath), the route table of the spec in both formats and every
// spelling the upstream routes alike (lookup: 404 unknown, 403 omitted),
// the 1 MiB body limit (413), the body read as Rack will read it (body.go:
// no _method, credentials stripped), the transforms
// (and guard.go's refusals), and the upstream call with the token in the
// access_token query parameter. GETs answered 200 are kept in a bounded
// cache and served from it, marked stale, while the upstream fails.
type Proxy struct {
	listen   string
	base     string // upstream scheme://host[/prefix], no trailing slash
	token    string
	tokenEsc string // the token as it appears in a query string
	routes   *swagger.Routes
	doc      []byte
	plans    map[string]*callPlan // by "METHOD PATH" of kept operations with transforms
	ts       []*transform         // all transforms, in file order
	cache    *answerCache
	client   *http.Client
	timeout  time.Duration
	limits   httpserve.Limits
	log      zerolog.Logger
}

// callPlan is what the transforms do to one operation.
type callPlan struct {
	ts       []*transform
	reqBody  []bodyOp
	respBody []bodyOp

	// Parameter names refused where the transforms cannot hold them
	// (guard.go): in the query, fields the request body ops control; in
	// the body, names the query ops set or remove.
	refuseInQuery map[string]bool
	refuseInBody  map[string]bool
}

// credentialOps strip 3scale credentials from JSON request bodies.
var credentialOps = []bodyOp{{path: []string{"access_token"}}, {path: []string{"provider_key"}}}

// New validates cfg, loads and selects the spec and the transforms.
// home is the upstream when cfg.Upstream is empty.
func New(ctx context.Context, cfg Config, home string, log zerolog.Logger) (*Proxy, error) {
	if cfg.Token == "" {
		return nil, errors.New("--mgmt-token is required with --mgmt-listen: the 3scale access token the proxy adds to every call")
	}
	if cfg.Spec == "" {
		return nil, errors.New("--mgmt-spec is required with --mgmt-listen: the management API's Swagger/OpenAPI file or URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = DefaultCacheEntries
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	listen, err := listenAddr(cfg.Listen)
	if err != nil {
		return nil, err
	}
	upstream := cfg.Upstream
	if upstream == "" {
		upstream = home
	}
	base, err := upstreamURL(upstream)
	if err != nil {
		return nil, err
	}
	inc, err := swagger.ParseSelection(cfg.Include, nil)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-include: %w", err)
	}
	omit, err := swagger.ParseSelection(nil, cfg.Omit)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-omit: %w", err)
	}
	sel := swagger.Selection{Include: inc.Include, Omit: omit.Omit}
	if err := checkSpecURL(cfg.Spec); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	spec, err := swagger.Load(lctx, cfg.Spec, cfg.SchemaCheck)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-spec: %w", err)
	}
	selected, err := spec.Select(sel)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-include/--mgmt-omit: %w", err)
	}
	var ts []*transform
	if cfg.Transform != "" {
		if ts, err = loadTransforms(cfg.Transform); err != nil {
			return nil, err
		}
	}
	p := &Proxy{
		listen: listen, base: base, token: cfg.Token, tokenEsc: url.QueryEscape(cfg.Token),
		routes: selected.Routes(), doc: selected.Document(), plans: map[string]*callPlan{}, ts: ts,
		cache: newAnswerCache(cfg.CacheEntries, cfg.CacheBytes), timeout: cfg.Timeout, limits: cfg.Limits, log: log,
	}
	used := make([]bool, len(ts))
	for _, op := range selected.Kept() {
		if plan := p.planOf(func(i int, t *transform) bool {
			if t.rule.Matches(op) {
				used[i] = true
				return true
			}
			return false
		}); plan != nil {
			p.plans[op.Method+" "+op.Path] = plan
		}
	}
	for i, u := range used {
		if !u {
			log.Warn().Int("transform", i).Str("match", ts[i].rule.String()).Msg("management proxy: this transform matches no kept operation")
		}
	}
	dialTimeout := min(cfg.Timeout, 10*time.Second)
	p.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:    dialTimeout,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    32,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			ForceAttemptHTTP2:      true,
			TLSClientConfig:        cfg.TLS,
		},
		// A redirect is the app's to follow, through the proxy again.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	log.Info().Str("listen", listen).Str("upstream", base).Str("spec", specName(cfg.Spec)).
		Int("kept", len(selected.Kept())).Int("transforms", len(ts)).Msg("management proxy ready")
	return p, nil
}

// specName names the spec in the log without the credentials its URL may
// carry (3scale serves ActiveDocs under ?access_token=), as swagger's
// messages do.
func specName(spec string) string {
	if !strings.HasPrefix(spec, "http://") && !strings.HasPrefix(spec, "https://") {
		return spec
	}
	return cmp.Or(redact.URL(spec), "the spec URL")
}

// checkSpecURL refuses a spec fetched in plain HTTP from a host other than
// loopback (DESIGN "Trust": HTTPS everywhere off loopback): the spec decides
// which calls the proxy lets through with its admin token, and anyone on
// the way could swap it for one that lets through more, or read the
// access_token its URL may carry (3scale's ActiveDocs).
func checkSpecURL(spec string) error {
	if !strings.HasPrefix(spec, "http://") {
		return nil
	}
	u, err := url.Parse(spec)
	if err != nil || loopback.Host(u.Hostname()) {
		return nil // Load names what is wrong with it
	}
	return fmt.Errorf("--mgmt-spec %s: plain http to a host other than loopback: the spec decides what the proxy lets through, and anyone on the way could swap it; use https:// or a file", specName(spec))
}

// listenAddr defaults the host to 127.0.0.1: the proxy holds an admin
// token, so listening beyond localhost takes an explicit address.
func listenAddr(s string) (string, error) {
	if s == "" {
		return DefaultListen, nil
	}
	if !strings.Contains(s, ":") {
		s = ":" + s
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("--mgmt-listen %q: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("--mgmt-listen %q: bad port", s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// upstreamURL checks the upstream URL and returns its base.
func upstreamURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("--mgmt-upstream is required without --home: the 3scale admin URL to forward to")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return "", fmt.Errorf("--mgmt-upstream: not a URL: %w", err)
	}
	// Shown without its user info, query or fragment: users of 3scale
	// write the admin URL with its token there ("TOKEN@admin", as the
	// toolbox's remotes, or "?access_token=").
	shown := strconv.Quote(cmp.Or(redact.URL(s), "(hidden: it may hold a credential)"))
	switch {
	case u.User != nil:
		return "", errors.New("--mgmt-upstream: the URL holds credentials; give the token with --mgmt-token")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("--mgmt-upstream %s: want an http or https URL", shown)
	case u.Host == "":
		return "", fmt.Errorf("--mgmt-upstream %s: no host", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("--mgmt-upstream %s: a query or fragment has no place in it (give the token with --mgmt-token)", shown)
	case u.Scheme == "http" && !loopback.Host(u.Hostname()):
		// The token rides in the query of every call: in plain HTTP anyone
		// on the way reads it.
		return "", fmt.Errorf("--mgmt-upstream %s (default: --home): plain http to a host other than loopback would send the access token in clear: use https://", shown)
	}
	return u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// Listen is the address the proxy is configured to listen on.
func (p *Proxy) Listen() string { return p.listen }

// Serve serves the proxy on ln until ctx ends.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) {
	// Bounded as every listener is (a body that never comes is cut after
	// the body timeout); the operation is checked before the body is read
	// (handle), so a call the proxy refuses never waits for its body.
	srv := httpserve.New(p, p.limits)
	srv.WriteTimeout = p.timeout + time.Minute
	// "OPTIONS *" goes to the proxy, which refuses it, not to net/http's
	// own answer.
	srv.DisableGeneralOptionsHandler = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(httpserve.Listener(ln, p.limits)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.log.Error().Err(err).Msg("management proxy stopped")
	}
	<-done
	p.client.CloseIdleConnections()
}

// allowedMethods are the methods the proxy knows, exactly as written:
// methods are case-sensitive, and "get" is not GET.
var allowedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// overrideHeaders change the method on some servers; the proxy refuses them.
var overrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// checkHeaderNames refuses method overrides and any header name with an
// underscore: Rack servers (puma, unicorn) file X_HTTP_METHOD_OVERRIDE
// under the same CGI name as X-HTTP-Method-Override (HTTP_X_HTTP_METHOD_OVERRIDE,
// which rack lib/rack/method_override.rb reads), and Content_Type under
// Content-Type's; nginx drops such names by default for the same reason.
// It returns the refusal, or "".
func checkHeaderNames(h http.Header) string {
	for k := range h {
		if strings.Contains(k, "_") {
			return fmt.Sprintf("header name %.60q refused: names with an underscore read as another header upstream", k)
		}
	}
	for _, k := range overrideHeaders {
		if _, ok := h[k]; ok {
			return "method override header " + k + " refused: send the real method"
		}
	}
	return ""
}

// statusWriter remembers the status for the access log, and closes the
// connection after an answer given before any of the request's body was
// read (a call refused unread): net/http would otherwise read (wait for) the
// body before it sends the answer, and a refused call would hold the
// connection. An answer after part of the body (413 past the limit) is left
// to net/http, which discards a short rest and keeps the client from a reset
// that would lose the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   *trackedBody // nil without a body
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.body != nil && !w.body.started {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// trackedBody notes when reading a request body has started.
type trackedBody struct {
	io.ReadCloser
	started bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.started = true
	return b.ReadCloser.Read(p)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if r.Body != nil && r.Body != http.NoBody {
		sw.body = &trackedBody{ReadCloser: r.Body}
		r.Body = sw.body
	}
	path, op := p.handle(sw, r)
	if op != "" {
		path = loggedPath(op[strings.IndexByte(op, ' ')+1:], path)
	}
	ev := p.log.Debug()
	if sw.status >= 500 {
		ev = p.log.Warn()
	}
	// Never the query: it is the app's, and may hold its own credentials.
	ev.Str("method", r.Method).Str("path", path).Str("operation", op).Int("status", sw.status).
		Dur("took", time.Since(start)).Msg("management call")
}

// handle answers one call; it returns the path and operation for the log.
func (p *Proxy) handle(w http.ResponseWriter, r *http.Request) (logPath, logOp string) {
	if msg := p.checkCaller(r); msg != "" {
		p.fail(w, http.StatusForbidden, msg)
		return "", ""
	}
	if !slices.Contains(allowedMethods, r.Method) {
		p.fail(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %.20q is not allowed; methods are case-sensitive (GET, not get)", r.Method))
		return "", ""
	}
	if msg := checkHeaderNames(r.Header); msg != "" {
		p.fail(w, http.StatusBadRequest, msg)
		return "", ""
	}
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	decoded, escaped, err := normalizePath(rawPath)
	if errors.Is(err, errPathTooLong) {
		p.fail(w, http.StatusRequestURITooLong, "path refused: "+err.Error())
		return "", ""
	}
	if err != nil {
		p.fail(w, http.StatusBadRequest, "path refused: "+err.Error())
		return "", ""
	}
	if decoded == specPath {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			p.fail(w, http.StatusMethodNotAllowed, specPath+" is read-only")
			return escaped, ""
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(p.doc)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(p.doc)
		}
		return escaped, ""
	}
	d, plan, found := p.lookup(r.Method, decoded)
	if !found {
		p.fail(w, http.StatusNotFound, fmt.Sprintf("no operation of the management API matches %s %s", r.Method, escaped))
		return escaped, ""
	}
	opKey := d.Operation.Method + " " + d.Operation.Path
	if !d.Kept {
		msg := fmt.Sprintf("%s is omitted from this management API by the rule %q", opKey, d.Rule)
		if d.Rule == swagger.NotIncluded {
			msg = opKey + " is not included in this management API: no --mgmt-include rule matches it"
		}
		httpjson.Write(w, http.StatusForbidden, map[string]string{"error": msg, "rule": d.Rule, "operation": opKey})
		return escaped, opKey
	}
	body, status, err := readBody(w, r)
	if err != nil {
		p.fail(w, status, err.Error())
		return escaped, opKey
	}
	out, status, err := p.outgoing(r, escaped, rawQuery, body, plan)
	if err != nil {
		p.fail(w, status, err.Error())
		return escaped, opKey
	}
	p.forward(w, r, out, plan)
	return out.path, opKey
}

// loggedPath is path, a call to the operation whose path template is
// template, as the log shows it: the value of each path parameter whose
// name sounds secret (redact.SecretName) replaced by the parameter's name.
// 3scale's Application Key Delete names the application key in its path
// (".../applications/{application_id}/keys/{key}.xml"). When path does not
// line up with template segment by segment, template is shown instead.
func loggedPath(template, path string) string {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return template
	}
	for i, t := range ts {
		open, end := strings.IndexByte(t, '{'), strings.IndexByte(t, '}')
		if open < 0 || end < open || !redact.SecretName(t[open+1:end]) {
			continue
		}
		ext := ""
		for _, e := range []string{".json", ".xml"} {
			if strings.HasSuffix(ps[i], e) {
				ext = e
			}
		}
		ps[i] = t[:end+1] + ext
	}
	return strings.Join(ps, "/")
}
