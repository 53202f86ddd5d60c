package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// contentCachingPolicy is APIcast's "content_caching" policy: "This policy
// allows to enable and disable caching based on customized conditions.
// These conditions can only be applied on the client request, where
// upstream responses cannot be used in this policy." Its rules are read in
// order when the request is rewritten; caching is on when a rule whose
// condition holds (a rule without one always does) says "cache": true — "if
// one rule matches, and it enables the cache, the execution will be stopped
// and it will be not disabled" — and its "header" (default X-Cache-Status)
// tells the client HIT, MISS or EXPIRED, as nginx's $upstream_cache_status.
//
// As APIcast's proxy_cache: only GET and HEAD use the cache (a HEAD is
// answered from a kept GET, and never kept itself); the key is the service,
// the upstream and the request's host, path and query, not the credentials
// (an upstream whose answers differ by application says private, or Vary on
// the header that tells them apart); a hit is served in the content phase,
// after the access phase has authorized and counted the request, and the
// header filters run on it as on a fetched response. The cache sits on the
// way to the upstream, as nginx's proxy_cache in APIcast's upstream
// location (its content_caching has no content phase): it serves and keeps
// answers when the request is forwarded, wherever the policy is in the
// chain (after the apicast element too), and never an answer a content
// policy makes (echo, liquid_context_debug). What is kept, and how
// long, is ContentCaching's and cacheable's: the statuses of
// APICAST_CACHE_STATUS_CODES, the upstream's Cache-Control or Expires, else
// APICAST_CACHE_MAX_TIME. Kept responses live in memory, within a byte
// budget shared by every service of the gateway (nginx keeps them on disk).
// content_caching{status} counts HIT, MISS and EXPIRED, as APIcast's.
//
// As nginx, a 200 the cache serves, or fetches and may keep, is judged
// against the request's preconditions (If-None-Match, If-Modified-Since,
// If-Match, If-Unmodified-Since: preconditionAnswer): the client gets 304
// without a body, the answer still kept, or 412 with nginx's page; the
// headers nginx_filters lists are not judged. Answers the cache may not
// keep go to the client as they come.
type contentCachingPolicy struct {
	rules []cacheRule
	env   *Env
	cache *contentCache

	hit, miss, expired prometheus.Counter
}

type cacheRule struct {
	cache  bool
	header string     // canonical header name
	cond   *condition // nil: always
}

type contentCachingConfig struct {
	Rules []struct {
		Cache     *bool            `json:"cache"`
		Header    *string          `json:"header"`
		Condition *conditionConfig `json:"condition"`
	} `json:"rules"`
}

func newContentCaching(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg contentCachingConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Rules) == 0 {
		return nil, Invalid("rules", "must list at least one rule")
	}
	p := &contentCachingPolicy{env: env, cache: sharedContentCache(env)}
	for i, rc := range cfg.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if rc.Cache == nil {
			return nil, Invalid(f+".cache", "is required")
		}
		rule := cacheRule{cache: *rc.Cache, header: "X-Cache-Status"}
		if rc.Header != nil {
			if !validHeaderName(*rc.Header) {
				return nil, Invalid(f+".header", "%q is not an HTTP header name", *rc.Header)
			}
			rule.header = http.CanonicalHeaderKey(*rc.Header)
		}
		if rc.Condition != nil {
			// The schema requires combine_op and an operation at least.
			cond, err := compileCondition(f+".condition", rc.Condition, conditionRules{combineRequired: true, minOperations: 1})
			if err != nil {
				return nil, err
			}
			rule.cond = cond
		}
		p.rules = append(p.rules, rule)
	}
	vec := env.Metrics.ContentCaching
	p.hit, p.miss, p.expired = vec.WithLabelValues("HIT"), vec.WithLabelValues("MISS"), vec.WithLabelValues("EXPIRED")
	return p, nil
}

// sharedContentCache is the gateway's one cache, kept across chain rebuilds
// (a new revision does not empty it, as a reload does not empty nginx's).
func sharedContentCache(env *Env) *contentCache {
	mk := func() any { return newContentCache(env.ContentCaching) }
	if env.Shared == nil {
		return mk().(*contentCache)
	}
	return env.Shared.Get("content_caching", mk).(*contentCache)
}

func (p *contentCachingPolicy) Name() string { return "content_caching" }

// cacheOff is the request state of a request that does not use the cache;
// otherwise the state is the rule's position plus one, or the *cacheFill of
// a request being fetched.
const cacheOff = 0

// Rewrite decides, from the client's request, whether it uses the cache.
func (p *contentCachingPolicy) Rewrite(c *Context) {
	on := cacheOff
	for i := range p.rules {
		if r := &p.rules[i]; r.cache && (r.cond == nil || r.cond.holds(c, p.env, renderRequest)) {
			on = i + 1
			break
		}
	}
	c.State(func() any { return on })
}

// Content answers a GET or HEAD from the cache when a fresh response is
// kept, and otherwise lets the request be forwarded, its response recorded.
func (p *contentCachingPolicy) Content(c *Context) bool {
	on, _ := c.State(func() any { return cacheOff }).(int)
	if on == cacheOff || (c.R.Method != http.MethodGet && c.R.Method != http.MethodHead) {
		return false
	}
	rule := &p.rules[on-1]
	key := p.key(c)
	now := p.now()
	status := "MISS"
	if e := p.cache.get(key); e != nil && e.matches(c.R) {
		if e.fresh(now) {
			p.hit.Inc()
			p.serve(c, e, rule.header)
			return true
		}
		status = "EXPIRED"
	}
	if status == "EXPIRED" {
		p.expired.Inc()
	} else {
		p.miss.Inc()
	}
	fill := &cacheFill{ResponseWriter: c.W, key: key, header: rule.header, status: status, limit: p.cache.maxEntry,
		req: c.R, unfiltered: c.Unfiltered, cache: p.cache, now: now}
	c.state[c.pos] = fill
	c.W = fill
	return false
}

// Log keeps the response fetched for a request that missed, when it came
// whole from the upstream and may be kept.
func (p *contentCachingPolicy) Log(c *Context) {
	fill, ok := c.state[c.pos].(*cacheFill)
	if !ok || fill.failed || fill.cut || fill.tooLarge || fill.code == 0 || fill.judged == http.StatusPreconditionFailed || c.aborted {
		return // not what the upstream answered, not whole, or not kept
	}
	if cl := fill.upstream.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(fill.body)) {
		return // cut short
	}
	now := p.now()
	expires, ok := p.cache.cacheable(c.R, fill.code, fill.upstream, now)
	if !ok {
		return
	}
	e := &cachedResponse{status: fill.code, header: fill.upstream, body: fill.body, expires: expires}
	if _, ok := e.header["Content-Length"]; !ok { // it came chunked
		e.header["Content-Length"] = []string{strconv.Itoa(len(e.body))}
	}
	for _, v := range fill.upstream.Values("Vary") {
		for name := range strings.SplitSeq(v, ",") {
			if name = http.CanonicalHeaderKey(strings.TrimSpace(name)); name != "" && !slices.Contains(e.vary, name) {
				e.vary = append(e.vary, name)
				e.varied = append(e.varied, strings.Join(c.R.Header.Values(name), ", "))
			}
		}
	}
	p.cache.put(fill.key, e)
}

// key names what a request asks for: the service, the upstream a policy
// chose (if any), and the host, path and query sent: a routing rule's
// replace_path as rendered (Upstream.Target) when the request goes to that
// rule's upstream, whether or not routing applied it yet (a rule's path
// that does not depend on the request's is one answer for all of them).
func (p *contentCachingPolicy) key(c *Context) string {
	b := make([]byte, 0, 128)
	b = strconv.AppendInt(b, p.env.ServiceID, 10)
	b = append(b, 0)
	if c.Upstream != nil {
		b = append(b, c.Upstream.URL.String()...)
	}
	b = append(append(b, 0), c.R.Host...)
	if c.Upstream != nil && c.Upstream.Path != "" {
		b = append(append(b, 0, 'T'), c.Upstream.Target...)
		if !strings.Contains(c.Upstream.Target, "?") && c.R.URL.RawQuery != "" {
			b = append(append(b, '?'), c.R.URL.RawQuery...) // the request's query goes with it
		}
		return string(b)
	}
	b = append(append(b, 0), c.R.URL.EscapedPath()...)
	if q := c.R.URL.RawQuery; q != "" {
		b = append(append(b, '?'), q...)
	}
	return string(b)
}

// serve answers from e: its status, headers and body (none for a HEAD),
// or what the request's preconditions make of them.
func (p *contentCachingPolicy) serve(c *Context, e *cachedResponse, header string) {
	h := c.W.Header()
	judged := 0
	if e.status == http.StatusOK && hasPreconditions(c.R.Header) {
		judged = preconditionAnswer(c.R.Header, c.Unfiltered, e.header)
	}
	if judged == http.StatusPreconditionFailed {
		preconditionFailed(c.W, c.R, header, "HIT")
		return
	}
	for k, vs := range e.header {
		h[k] = slices.Clone(vs) // filters may change the answer's headers, never the kept ones
	}
	h[header] = []string{"HIT"}
	if judged == http.StatusNotModified {
		notModifiedHeader(h)
		c.W.WriteHeader(http.StatusNotModified)
		return
	}
	c.W.WriteHeader(e.status)
	if c.R.Method != http.MethodHead {
		_, _ = c.W.Write(e.body)
	}
}

// hasPreconditions reports whether a request asks for a conditional answer
// nginx's not_modified filter gives.
func hasPreconditions(h http.Header) bool {
	return len(h["If-Match"]) > 0 || len(h["If-None-Match"]) > 0 ||
		len(h["If-Modified-Since"]) > 0 || len(h["If-Unmodified-Since"]) > 0
}

// preconditionFailed answers 412 as nginx's filter_finalize_request does:
// its page, none of the answer's headers, and the cache status header.
func preconditionFailed(w http.ResponseWriter, r *http.Request, header, status string) {
	h := w.Header()
	clear(h)
	contentType, body := nginxErrorPage(http.StatusPreconditionFailed)
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h[header] = []string{status}
	w.WriteHeader(http.StatusPreconditionFailed)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (p *contentCachingPolicy) now() time.Time {
	if p.env.Now != nil {
		return p.env.Now()
	}
	return time.Now()
}

// cacheFill records a response as it goes to the client: the upstream's
// status, headers (before any header filter) and body, within the cache's
// entry bound. An answer the request's preconditions judge goes to the
// client as 304 or 412, its body still recorded (a 304's answer is kept, as
// nginx keeps it).
type cacheFill struct {
	http.ResponseWriter
	key, header, status string

	// What the preconditions are judged with.
	req        *http.Request
	unfiltered []string
	cache      *contentCache
	now        time.Time

	code     int
	judged   int // 0, or the 304 or 412 sent instead of code
	upstream http.Header
	body     []byte
	tooLarge bool
	failed   bool  // the gateway answered itself after forwarding failed
	cut      bool  // a write to the client failed: no more of the upstream's body was read
	limit    int64 // the largest body kept
}

func (w *cacheFill) WriteHeader(code int) {
	if w.code != 0 || code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.code = code
	h := w.ResponseWriter.Header()
	w.upstream = h.Clone()
	if code == http.StatusOK && !w.failed && hasPreconditions(w.req.Header) {
		if _, ok := w.cache.cacheable(w.req, code, w.upstream, w.now); ok {
			w.judged = preconditionAnswer(w.req.Header, w.unfiltered, w.upstream)
		}
	}
	switch w.judged {
	case http.StatusPreconditionFailed:
		preconditionFailed(w.ResponseWriter, w.req, w.header, w.status)
		return
	case http.StatusNotModified:
		notModifiedHeader(h)
		code = http.StatusNotModified
	}
	h[w.header] = []string{w.status}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cacheFill) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.tooLarge && !w.failed && w.judged != http.StatusPreconditionFailed { // a 412's answer is not kept
		if int64(len(w.body)+len(b)) > w.limit {
			w.tooLarge, w.body = true, nil
		} else {
			w.body = append(w.body, b...)
		}
	}
	if w.judged != 0 {
		return len(b), nil // the client gets the 304 or 412 alone
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil {
		w.cut, w.body = true, nil
	}
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *cacheFill) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through.
func (w *cacheFill) Flush() {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// ForwardFailed tells the chain that forwarding the request whose response
// w writes failed, and that what is written next is the gateway's own
// error answer, not the upstream's: content_caching must not keep it.
func ForwardFailed(w http.ResponseWriter) {
	for w != nil {
		if fill, ok := w.(*cacheFill); ok {
			fill.failed = true
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// atUpstream: APIcast's content_caching has no content phase, nginx's
// proxy_cache serves and keeps answers in the upstream location; so it runs
// on the way to the upstream, wherever it sits (see Chain.planContent).
func (p *contentCachingPolicy) atUpstream() {}
