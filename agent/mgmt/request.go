package mgmt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/portolan/portolan/internal/http1"
)

// What the proxy sends upstream: the app's request with its credentials,
// method overrides and hop-by-hop headers stripped, and the transforms applied.

// maxDrain bounds what is read and thrown away of a body over maxBody before
// the 413 is sent: a client still writing a body the server closed on gets a
// reset instead of the answer, so a moderately large body is taken in first
// (within the listener's body timeout), as nginx's lingering close does.
const maxDrain = 4 * maxBody

// readBody reads the request body, at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	tooLarge := fmt.Errorf("request body larger than %d bytes (1 MiB)", maxBody)
	if r.ContentLength > maxBody {
		_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	}
	return body, 0, nil
}

// outRequest is the upstream request being built.
type outRequest struct {
	method string
	path   string // escaped, canonical
	query  url.Values
	header http.Header
	body   []byte
}

// cacheKey identifies a GET by everything the upstream sees, but the token:
// with a body, its type and digest too, as home and Rack read a GET's body
// as parameters (find.json with username=alice or bob in a form).
func (o *outRequest) cacheKey() string {
	k := o.path + "?" + o.query.Encode() + "\n" + o.header.Get("Accept")
	if len(o.body) > 0 {
		sum := sha256.Sum256(o.body)
		k += "\n" + o.header.Get("Content-Type") + "\n" + hex.EncodeToString(sum[:])
	}
	return k
}

// outgoing strips the app's credentials and method overrides from the
// request and applies the plan's transforms.
func (p *Proxy) outgoing(r *http.Request, path, rawQuery string, body []byte, plan *callPlan) (*outRequest, int, error) {
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, http.StatusBadRequest, errors.New("malformed query string")
	}
	if query.Has("_method") {
		return nil, http.StatusBadRequest, errors.New("the _method parameter is refused: send the real method")
	}
	// Under every name Rack reads as them ("[provider_key]",
	// "provider_key[]"), as in a form body (isCredential): a real 3scale
	// upstream would otherwise take the app's own.
	deleteRackKey(query, "access_token")
	deleteRackKey(query, "provider_key")
	out := &outRequest{method: r.Method, path: path, query: query, header: requestHeaders(r.Header), body: body}
	if plan != nil {
		if err := plan.checkQuery(query); err != nil {
			return nil, http.StatusBadRequest, err
		}
		for _, t := range plan.ts {
			out.path = t.rewritePath(out.path)
			t.applyHeaders(out.header)
			t.applyQuery(out.query)
		}
		if len(plan.respBody) > 0 && strings.HasSuffix(out.path, ".xml") {
			// The response transforms read JSON: an XML answer would pass
			// with the fields they hide. Refused before the call is made.
			return nil, http.StatusNotAcceptable, errors.New("this operation's response transforms read JSON only: call its .json form")
		}
	}
	if len(body) == 0 {
		return out, 0, nil
	}
	// The body is read by the headers the upstream gets, after the
	// transforms: a Connection header naming Content-Type has removed it,
	// and Rack then reads a POST body as a form.
	mt, err := prepareBody(out)
	if err != nil {
		status := http.StatusBadRequest
		var be *bodyError
		if errors.As(err, &be) {
			status = be.status
		}
		return nil, status, err
	}
	if plan != nil {
		if status, err := plan.checkBody(mt, out.header, out.body); err != nil {
			return nil, status, err
		}
	}
	if plan != nil && len(plan.reqBody) > 0 && len(out.body) > 0 {
		if !isJSON(mt) {
			return nil, http.StatusUnsupportedMediaType, errors.New("this operation's request transforms read JSON bodies only: send Content-Type: application/json")
		}
		if err := plan.checkJSONKeys(out.body); err != nil {
			return nil, http.StatusBadRequest, err
		}
		if out.body, err = transformRequestJSON(out.body, plan.reqBody); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("the request body is not JSON the proxy can read (%v): this operation's request transforms need it", err)
		}
	}
	return out, 0, nil
}

// prepareBody checks the body's type and strips its credentials, as the
// upstream will read it; it returns the media type.
func prepareBody(out *outRequest) (string, error) {
	mt, params, err := bodyType(out.header)
	if err != nil {
		return "", err
	}
	body, ct, err := stripCredentials(mt, params, out.header.Get("Content-Type"), out.body)
	if err != nil {
		return "", err
	}
	out.body = body
	if ct != "" {
		out.header.Set("Content-Type", ct)
	}
	return mt, nil
}

// requestHeaders copies the app's headers without hop-by-hop headers,
// credentials, what the proxy's own client manages (Accept-Encoding:
// answers come back decoded, so transforms can read them), ranges (a
// partial answer could cut an echoed token in two and pass redactBody,
// and the API's JSON has no use for one), and claims about earlier hops:
// the proxy is the first hop, and the upstream believes these (porta's
// Rails reads its host and scheme from X-Forwarded-Host and
// X-Forwarded-Proto; home writes them into the proxy configs it deploys).
func requestHeaders(in http.Header) http.Header {
	h := in.Clone()
	http1.RemoveHopByHop(h)
	for _, k := range []string{"Authorization", "Cookie", "Accept-Encoding", "Expect", "Host", "Content-Length", "Range", "If-Range"} {
		h.Del(k)
	}
	for k := range h {
		if strings.HasPrefix(k, "X-Forwarded-") || slices.Contains(forwardingHeaders, k) {
			delete(h, k)
		}
	}
	return h
}

// forwardingHeaders speak for a hop before the proxy (besides X-Forwarded-*).
var forwardingHeaders = []string{"Forwarded", "X-Real-Ip", "X-Client-Ip", "X-Original-Url", "X-Rewrite-Url", "X-Original-Host", "Front-End-Https", "X-Url-Scheme"}
