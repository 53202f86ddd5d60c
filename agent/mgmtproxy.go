package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/swagger"
)

// mgmtProxy is the management proxy. Every request goes through, in order:
// the method (case-sensitive, no overrides), the path (normalizeMgmtPath), the
// route table of the spec (404 unknown, 403 omitted), the 1 MiB body limit
// (413), credential stripping, the transforms, and the upstream call with the
// token in the access_token query parameter. GETs answered 200 are kept in a
// bounded cache and served from it, marked stale, while the upstream fails.
type mgmtProxy struct {
	listen   string
	base     string // upstream scheme://host[/prefix], no trailing slash
	token    string
	tokenEsc string // the token as it appears in a query string
	routes   *swagger.Routes
	doc      []byte
	plans    map[string]*mgmtPlan // by "METHOD PATH" of kept operations with transforms
	cache    *mgmtCache
	client   *http.Client
	timeout  time.Duration
	log      zerolog.Logger
}

// mgmtPlan is what the transforms do to one operation.
type mgmtPlan struct {
	ts       []*mgmtTransform
	reqBody  []mgmtBodyOp
	respBody []mgmtBodyOp
}

// mgmtCredentialOps strip 3scale credentials from JSON request bodies.
var mgmtCredentialOps = []mgmtBodyOp{{path: []string{"access_token"}}, {path: []string{"provider_key"}}}

// newMgmtProxy validates cfg, loads and selects the spec and the transforms.
// home is the upstream when cfg.Upstream is empty.
func newMgmtProxy(ctx context.Context, cfg MgmtConfig, home string, log zerolog.Logger) (*mgmtProxy, error) {
	if cfg.Token == "" {
		return nil, errors.New("--mgmt-token is required with --mgmt-listen: the 3scale access token the proxy adds to every call")
	}
	if cfg.Spec == "" {
		return nil, errors.New("--mgmt-spec is required with --mgmt-listen: the management API's Swagger/OpenAPI file or URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultMgmtTimeout
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = DefaultMgmtCacheEntries
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultMgmtCacheBytes
	}
	listen, err := mgmtListenAddr(cfg.Listen)
	if err != nil {
		return nil, err
	}
	upstream := cfg.Upstream
	if upstream == "" {
		upstream = home
	}
	base, err := mgmtUpstream(upstream)
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
	lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	spec, err := swagger.Load(lctx, cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-spec: %w", err)
	}
	selected, err := spec.Select(sel)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-include/--mgmt-omit: %w", err)
	}
	var ts []*mgmtTransform
	if cfg.Transform != "" {
		if ts, err = loadMgmtTransforms(cfg.Transform); err != nil {
			return nil, err
		}
	}
	p := &mgmtProxy{
		listen: listen, base: base, token: cfg.Token, tokenEsc: url.QueryEscape(cfg.Token),
		routes: selected.Routes(), doc: selected.Document(), plans: map[string]*mgmtPlan{},
		cache: newMgmtCache(cfg.CacheEntries, cfg.CacheBytes), timeout: cfg.Timeout, log: log,
	}
	used := make([]bool, len(ts))
	for _, op := range selected.Kept() {
		plan := &mgmtPlan{}
		for i, t := range ts {
			if t.rule.Matches(op) {
				used[i] = true
				plan.ts = append(plan.ts, t)
				plan.reqBody = append(plan.reqBody, t.reqBody...)
				plan.respBody = append(plan.respBody, t.respBody...)
			}
		}
		if len(plan.ts) > 0 {
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
		},
		// A redirect is the app's to follow, through the proxy again.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	log.Info().Str("listen", listen).Str("upstream", base).Str("spec", cfg.Spec).
		Int("kept", len(selected.Kept())).Int("transforms", len(ts)).Msg("management proxy ready")
	return p, nil
}

// mgmtListenAddr defaults the host to 127.0.0.1: the proxy holds an admin
// token, so listening beyond localhost takes an explicit address.
func mgmtListenAddr(s string) (string, error) {
	if s == "" {
		return DefaultMgmtListen, nil
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

// mgmtUpstream checks the upstream URL and returns its base.
func mgmtUpstream(s string) (string, error) {
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
	switch {
	case u.User != nil:
		return "", errors.New("--mgmt-upstream: the URL holds credentials; give the token with --mgmt-token")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("--mgmt-upstream %q: want an http or https URL", s)
	case u.Host == "":
		return "", fmt.Errorf("--mgmt-upstream %q: no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("--mgmt-upstream %q: a query or fragment has no place in it", s)
	}
	return u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// serve serves the proxy on ln until ctx ends.
func (p *mgmtProxy) serve(ctx context.Context, ln net.Listener) {
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      p.timeout + time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// "OPTIONS *" goes to the proxy, which refuses it, not to net/http's
		// own answer.
		DisableGeneralOptionsHandler: true,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.log.Error().Err(err).Msg("management proxy stopped")
	}
	<-done
	p.client.CloseIdleConnections()
}

// startMgmt starts the management proxy, when configured, until ctx ends.
func (a *Agent) startMgmt(ctx context.Context, wg *sync.WaitGroup) error {
	if a.mgmt == nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.mgmt.listen)
	if err != nil {
		return fmt.Errorf("management proxy on %s: %w", a.mgmt.listen, err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); a.mgmt.serve(ctx, ln) }()
	return nil
}

// mgmtMethods are the methods the proxy knows, exactly as written:
// methods are case-sensitive, and "get" is not GET.
var mgmtMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// mgmtOverrideHeaders change the method on some servers; the proxy refuses them.
var mgmtOverrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// mgmtStatusWriter remembers the status for the access log.
type mgmtStatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *mgmtStatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *mgmtStatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (p *mgmtProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &mgmtStatusWriter{ResponseWriter: w}
	path, op := p.handle(sw, r)
	ev := p.log.Debug()
	if sw.status >= 500 {
		ev = p.log.Warn()
	}
	// Never the query: it is the app's, and may hold its own credentials.
	ev.Str("method", r.Method).Str("path", path).Str("operation", op).Int("status", sw.status).
		Dur("took", time.Since(start)).Msg("management call")
}

// handle answers one call; it returns the path and operation for the log.
func (p *mgmtProxy) handle(w http.ResponseWriter, r *http.Request) (logPath, logOp string) {
	if !slices.Contains(mgmtMethods, r.Method) {
		p.fail(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %.20q is not allowed; methods are case-sensitive (GET, not get)", r.Method))
		return "", ""
	}
	for _, h := range mgmtOverrideHeaders {
		if _, ok := r.Header[h]; ok {
			p.fail(w, http.StatusBadRequest, "method override header "+h+" refused: send the real method")
			return "", ""
		}
	}
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	decoded, escaped, err := normalizeMgmtPath(rawPath)
	if errors.Is(err, errMgmtPathTooLong) {
		p.fail(w, http.StatusRequestURITooLong, "path refused: "+err.Error())
		return "", ""
	}
	if err != nil {
		p.fail(w, http.StatusBadRequest, "path refused: "+err.Error())
		return "", ""
	}
	if decoded == mgmtSpecPath {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			p.fail(w, http.StatusMethodNotAllowed, mgmtSpecPath+" is read-only")
			return escaped, ""
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(p.doc)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(p.doc)
		}
		return escaped, ""
	}
	d, found := p.routes.Lookup(r.Method, decoded)
	if alt, ok := otherFormat(decoded); !found && ok {
		// 3scale serves every operation as .json and .xml; specs often list one.
		d, found = p.routes.Lookup(r.Method, alt)
	}
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
	body, status, err := readMgmtBody(w, r)
	if err != nil {
		p.fail(w, status, err.Error())
		return escaped, opKey
	}
	out, status, err := p.outgoing(r, escaped, rawQuery, body, p.plans[opKey])
	if err != nil {
		p.fail(w, status, err.Error())
		return escaped, opKey
	}
	p.forward(w, r, out, p.plans[opKey])
	return out.path, opKey
}

// readMgmtBody reads the request body, at most maxMgmtBody bytes.
func readMgmtBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	tooLarge := fmt.Errorf("request body larger than %d bytes (1 MiB)", maxMgmtBody)
	if r.ContentLength > maxMgmtBody {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMgmtBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	}
	return body, 0, nil
}

// mgmtOutgoing is the upstream request being built.
type mgmtOutgoing struct {
	method string
	path   string // escaped, canonical
	query  url.Values
	header http.Header
	body   []byte
}

// cacheKey identifies a GET by everything the upstream sees, but the token.
func (o *mgmtOutgoing) cacheKey() string {
	return o.path + "?" + o.query.Encode() + "\n" + o.header.Get("Accept")
}

// outgoing strips the app's credentials and method overrides from the
// request and applies the plan's transforms.
func (p *mgmtProxy) outgoing(r *http.Request, path, rawQuery string, body []byte, plan *mgmtPlan) (*mgmtOutgoing, int, error) {
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, http.StatusBadRequest, errors.New("malformed query string")
	}
	if query.Has("_method") {
		return nil, http.StatusBadRequest, errors.New("the _method parameter is refused: send the real method")
	}
	query.Del("access_token")
	query.Del("provider_key")
	out := &mgmtOutgoing{method: r.Method, path: path, query: query, header: mgmtRequestHeaders(r.Header), body: body}
	ct := r.Header.Get("Content-Type")
	if len(body) > 0 {
		if out.body, err = mgmtStripCredentials(ct, body); err != nil {
			return nil, http.StatusBadRequest, err
		}
	}
	if plan == nil {
		return out, 0, nil
	}
	for _, t := range plan.ts {
		out.path = t.rewritePath(out.path)
		t.applyHeaders(out.header)
		t.applyQuery(out.query)
	}
	if mgmtIsJSON(ct) {
		out.body = mgmtTransformJSON(out.body, plan.reqBody)
	}
	return out, 0, nil
}

// mgmtStripCredentials removes access_token and provider_key from form,
// multipart and JSON bodies, and refuses a _method field. A body without a
// Content-Type counts as a form, as Rack and 3scale read it.
func mgmtStripCredentials(contentType string, body []byte) ([]byte, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded" || contentType == "":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("malformed form body")
		}
		if form.Has("_method") {
			return nil, errors.New("the _method field is refused: send the real method")
		}
		if !form.Has("access_token") && !form.Has("provider_key") {
			return body, nil
		}
		form.Del("access_token")
		form.Del("provider_key")
		return []byte(form.Encode()), nil
	case mt == "multipart/form-data":
		return mgmtStripMultipart(body, params["boundary"])
	case mgmtIsJSON(mt):
		return mgmtTransformJSON(body, mgmtCredentialOps), nil
	}
	return body, nil
}

// mgmtStripMultipart drops credential parts and refuses a _method part.
func mgmtStripMultipart(body []byte, boundary string) ([]byte, error) {
	if boundary == "" {
		return nil, errors.New("malformed multipart body: no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, fmt.Errorf("malformed multipart body: %w", err)
	}
	changed := false
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed multipart body: %w", err)
		}
		switch part.FormName() {
		case "_method":
			return nil, errors.New("the _method field is refused: send the real method")
		case "access_token", "provider_key":
			changed = true
			continue
		}
		pw, err := mw.CreatePart(part.Header)
		if err == nil {
			_, err = io.Copy(pw, part)
		}
		if err != nil {
			return nil, fmt.Errorf("malformed multipart body: %w", err)
		}
	}
	if !changed {
		return body, nil
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// mgmtRequestHeaders copies the app's headers without hop-by-hop headers,
// credentials, and what the proxy's own client manages (Accept-Encoding:
// answers come back decoded, so transforms can read them).
func mgmtRequestHeaders(in http.Header) http.Header {
	h := in.Clone()
	mgmtRemoveHopByHop(h)
	for _, k := range []string{"Authorization", "Cookie", "Accept-Encoding", "Expect", "Host", "Content-Length"} {
		h.Del(k)
	}
	return h
}

// mgmtRemoveHopByHop deletes the headers that concern one connection only
// (RFC 9110 section 7.6.1): those Connection lists, and the usual ones.
func mgmtRemoveHopByHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for k := range h {
		if mgmtHopByHop(k) {
			delete(h, k)
		}
	}
}

// mgmtHopByHop reports whether the canonical header name k is hop-by-hop.
func mgmtHopByHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return strings.HasPrefix(k, "Proxy-")
}

// forward calls the upstream and answers the app.
func (p *mgmtProxy) forward(w http.ResponseWriter, r *http.Request, out *mgmtOutgoing, plan *mgmtPlan) {
	isGet := out.method == http.MethodGet
	key := ""
	if isGet {
		key = out.cacheKey()
	}
	q := out.query.Encode()
	if q != "" {
		q += "&"
	}
	target := p.base + out.path + "?" + q + "access_token=" + p.tokenEsc

	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, out.method, target, bytes.NewReader(out.body))
	if err != nil {
		p.fail(w, http.StatusBadGateway, "building the upstream request: "+p.describe(err))
		return
	}
	req.Header = out.header
	if len(out.body) == 0 && out.method != http.MethodPost && out.method != http.MethodPut && out.method != http.MethodPatch {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	resp, err := p.client.Do(req)
	var respBody []byte
	if err == nil {
		respBody, err = mgmtReadUpstream(resp)
	}
	if err != nil {
		if r.Context().Err() != nil {
			return // the app went away
		}
		status, msg := p.upstreamFailure(err)
		if isGet && p.serveStale(w, key) {
			p.log.Warn().Str("path", out.path).Str("error", msg).Msg("management upstream failed; answered from cache")
			return
		}
		p.fail(w, status, msg)
		return
	}
	if isGet && resp.StatusCode >= 500 && p.serveStale(w, key) {
		p.log.Warn().Str("path", out.path).Int("status", resp.StatusCode).Msg("management upstream failed; answered from cache")
		return
	}
	h := resp.Header.Clone()
	mgmtRemoveHopByHop(h)
	h.Del("Set-Cookie")
	h.Del("Content-Length")
	p.redactHeader(h)
	if plan != nil && mgmtIsJSON(h.Get("Content-Type")) {
		respBody = mgmtTransformJSON(respBody, plan.respBody)
	}
	respBody = p.redactBody(respBody)
	if isGet && resp.StatusCode == http.StatusOK {
		p.cache.put(&mgmtCached{key: key, status: resp.StatusCode, header: h.Clone(), body: respBody, stored: time.Now()})
	}
	writeMgmt(w, h, resp.StatusCode, respBody, r.Method != http.MethodHead)
}

// mgmtReadUpstream reads an answer, at most maxMgmtResponse bytes.
func mgmtReadUpstream(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMgmtResponse+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMgmtResponse {
		return nil, errMgmtUpstreamTooLarge
	}
	return b, nil
}

var errMgmtUpstreamTooLarge = fmt.Errorf("the upstream answer is larger than %d bytes", maxMgmtResponse)

// serveStale answers from the cache, marked stale; false when nothing is cached.
func (p *mgmtProxy) serveStale(w http.ResponseWriter, key string) bool {
	e, ok := p.cache.get(key)
	if !ok {
		return false
	}
	h := e.header.Clone()
	h.Set("Warning", mgmtStaleWarning)
	h.Set("Age", strconv.FormatInt(int64(time.Since(e.stored).Seconds()), 10))
	writeMgmt(w, h, e.status, e.body, true)
	return true
}

func writeMgmt(w http.ResponseWriter, h http.Header, status int, body []byte, withBody bool) {
	dst := w.Header()
	for k, vs := range h {
		dst[k] = vs
	}
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if withBody {
		_, _ = w.Write(body)
	}
}

// upstreamFailure maps a failed upstream call to the answer's status and a
// message that names the problem and never the token: 504 on a timeout, 503
// when the upstream cannot be reached, 502 for anything else.
func (p *mgmtProxy) upstreamFailure(err error) (int, string) {
	var ne net.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return http.StatusGatewayTimeout, fmt.Sprintf("the management upstream did not answer within %s; nothing was cached or queued", p.timeout)
	case errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial"):
		return http.StatusServiceUnavailable, "the management upstream is unreachable: " + p.describe(err) + "; nothing was cached or queued"
	case errors.Is(err, errMgmtUpstreamTooLarge):
		return http.StatusBadGateway, err.Error()
	}
	return http.StatusBadGateway, "the management upstream failed: " + p.describe(err) + "; nothing was cached or queued"
}

// describe is err without the request URL (which holds the token) and with
// any trace of the token redacted.
func (p *mgmtProxy) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return p.redact(err.Error())
}

func (p *mgmtProxy) redact(s string) string {
	s = strings.ReplaceAll(s, p.token, mgmtRedacted)
	if p.tokenEsc != p.token {
		s = strings.ReplaceAll(s, p.tokenEsc, mgmtRedacted)
	}
	return s
}

func (p *mgmtProxy) redactBody(b []byte) []byte {
	if bytes.Contains(b, []byte(p.token)) {
		b = bytes.ReplaceAll(b, []byte(p.token), []byte(mgmtRedacted))
	}
	if p.tokenEsc != p.token && bytes.Contains(b, []byte(p.tokenEsc)) {
		b = bytes.ReplaceAll(b, []byte(p.tokenEsc), []byte(mgmtRedacted))
	}
	return b
}

func (p *mgmtProxy) redactHeader(h http.Header) {
	for _, vs := range h {
		for i, v := range vs {
			vs[i] = p.redact(v)
		}
	}
}

// fail answers a JSON error the proxy itself decided.
func (p *mgmtProxy) fail(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]string{"error": p.redact(msg)})
}

// otherFormat swaps a path's 3scale format suffix: .json ↔ .xml.
func otherFormat(path string) (string, bool) {
	if base, ok := strings.CutSuffix(path, ".json"); ok {
		return base + ".xml", true
	}
	if base, ok := strings.CutSuffix(path, ".xml"); ok {
		return base + ".json", true
	}
	return "", false
}
