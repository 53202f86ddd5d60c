package mgmt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/internal/http1"
	"github.com/portolan/portolan/internal/httpjson"
)

// forward calls the upstream and answers the app.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, out *outRequest, plan *callPlan) {
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
		respBody, err = readUpstream(resp)
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
	if isUnsafe(out.method) && resp.StatusCode < 400 {
		// RFC 9111 section 4.4: a cache MUST invalidate the target URI
		// when an unsafe method gets a non-error answer. Left in, the
		// answer from before the write would be served, as the last good
		// one, once the upstream fails: a service the app renamed under
		// its old name, one it deleted as still there. Every spelling of
		// the path, with either suffix or none, is one resource to 3scale
		// (pathTwins).
		for _, twin := range pathTwins(out.path) {
			p.cache.removePath(twin)
		}
	}
	if isGet && resp.StatusCode >= 500 && p.serveStale(w, key) {
		p.log.Warn().Str("path", out.path).Int("status", resp.StatusCode).Msg("management upstream failed; answered from cache")
		return
	}
	h := resp.Header.Clone()
	http1.RemoveHopByHop(h)
	h.Del("Set-Cookie")
	h.Del("Content-Length")
	p.redactHeader(h)
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") && len(respBody) > 0 {
		// The client asked for gzip and decoded it; any other encoding
		// was not asked for, and hides the body from redaction and the
		// transforms.
		p.fail(w, http.StatusBadGateway, fmt.Sprintf("the management upstream answered %d with Content-Encoding %.40q, which the proxy did not ask for and cannot check; the call was made", resp.StatusCode, ce))
		return
	}
	if plan != nil && len(plan.respBody) > 0 {
		// What the transforms hide must not pass in an answer they cannot
		// read (XML, an error page, broken JSON).
		if !isJSON(h.Get("Content-Type")) && len(bytes.TrimSpace(respBody)) > 0 {
			p.fail(w, http.StatusBadGateway, fmt.Sprintf("the management upstream answered %d with %.60q, which this operation's response transforms cannot read; the call was made, its answer withheld", resp.StatusCode, h.Get("Content-Type")))
			return
		}
		if respBody, err = transformJSONStrict(respBody, plan.respBody); err != nil {
			p.fail(w, http.StatusBadGateway, fmt.Sprintf("the management upstream answered %d with JSON the response transforms cannot read (%s); the call was made, its answer withheld", resp.StatusCode, p.redact(err.Error())))
			return
		}
	}
	respBody = p.redactBody(respBody)
	if isGet && resp.StatusCode == http.StatusOK {
		p.cache.put(&cachedAnswer{key: key, status: resp.StatusCode, header: h.Clone(), body: respBody, stored: time.Now()})
	}
	writeAnswer(w, h, resp.StatusCode, respBody, r.Method != http.MethodHead)
}

// isUnsafe reports whether method may change what the upstream holds
// (RFC 9110 section 9.2.1: not GET, HEAD or OPTIONS).
func isUnsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// readUpstream reads an answer, at most maxResponse bytes.
func readUpstream(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponse {
		return nil, errUpstreamTooLarge
	}
	return b, nil
}

var errUpstreamTooLarge = fmt.Errorf("the upstream answer is larger than %d bytes", maxResponse)

// serveStale answers from the cache, marked stale; false when nothing is cached.
func (p *Proxy) serveStale(w http.ResponseWriter, key string) bool {
	e, ok := p.cache.get(key)
	if !ok {
		return false
	}
	h := e.header.Clone()
	h.Set("Warning", staleWarning)
	h.Set("Age", strconv.FormatInt(int64(time.Since(e.stored).Seconds()), 10))
	writeAnswer(w, h, e.status, e.body, true)
	return true
}

// writeAnswer answers status, h and body; without the body (HEAD), without
// a Content-Length either: the length of the body GET would get, after
// redaction and the response transforms, is unknown, and RFC 9110 section
// 8.6 forbids any other ("a server MUST NOT send Content-Length in such a
// response unless its field value equals the decimal number of octets that
// would have been sent in the content of a response if the same request had
// used the GET method").
func writeAnswer(w http.ResponseWriter, h http.Header, status int, body []byte, withBody bool) {
	dst := w.Header()
	for k, vs := range h {
		dst[k] = vs
	}
	if !withBody {
		dst.Del("Content-Length")
		w.WriteHeader(status)
		return
	}
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// upstreamFailure maps a failed upstream call to the answer's status and a
// message that names the problem and never the token: 504 on a timeout, 503
// when the upstream cannot be reached, 502 for anything else.
func (p *Proxy) upstreamFailure(err error) (int, string) {
	var ne net.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return http.StatusGatewayTimeout, fmt.Sprintf("the management upstream did not answer within %s; nothing was cached or queued", p.timeout)
	case errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial"):
		return http.StatusServiceUnavailable, "the management upstream is unreachable: " + p.describe(err) + "; nothing was cached or queued"
	case errors.Is(err, errUpstreamTooLarge):
		return http.StatusBadGateway, err.Error()
	}
	return http.StatusBadGateway, "the management upstream failed: " + p.describe(err) + "; nothing was cached or queued"
}

// describe is err without the request URL (which holds the token) and with
// any trace of the token redacted.
func (p *Proxy) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return p.redact(err.Error())
}

func (p *Proxy) redact(s string) string {
	s = strings.ReplaceAll(s, p.token, redacted)
	if p.tokenEsc != p.token {
		s = strings.ReplaceAll(s, p.tokenEsc, redacted)
	}
	return s
}

func (p *Proxy) redactBody(b []byte) []byte {
	if bytes.Contains(b, []byte(p.token)) {
		b = bytes.ReplaceAll(b, []byte(p.token), []byte(redacted))
	}
	if p.tokenEsc != p.token && bytes.Contains(b, []byte(p.tokenEsc)) {
		b = bytes.ReplaceAll(b, []byte(p.tokenEsc), []byte(redacted))
	}
	return b
}

func (p *Proxy) redactHeader(h http.Header) {
	for _, vs := range h {
		for i, v := range vs {
			vs[i] = p.redact(v)
		}
	}
}

// fail answers a JSON error the proxy itself decided.
func (p *Proxy) fail(w http.ResponseWriter, status int, msg string) {
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
