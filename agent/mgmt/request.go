package mgmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

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

// cacheKey identifies a GET by everything the upstream sees, but the token.
func (o *outRequest) cacheKey() string {
	return o.path + "?" + o.query.Encode() + "\n" + o.header.Get("Accept")
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
	query.Del("access_token")
	query.Del("provider_key")
	out := &outRequest{method: r.Method, path: path, query: query, header: requestHeaders(r.Header), body: body}
	ct := r.Header.Get("Content-Type")
	if len(body) > 0 {
		if out.body, err = stripCredentials(ct, body); err != nil {
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
	if isJSON(ct) {
		out.body = transformJSON(out.body, plan.reqBody)
	}
	return out, 0, nil
}

// stripCredentials removes access_token and provider_key from form,
// multipart and JSON bodies, and refuses a _method field. A body without a
// Content-Type counts as a form, as Rack and 3scale read it.
func stripCredentials(contentType string, body []byte) ([]byte, error) {
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
		return stripMultipart(body, params["boundary"])
	case isJSON(mt):
		return transformJSON(body, credentialOps), nil
	}
	return body, nil
}

// stripMultipart drops credential parts and refuses a _method part.
func stripMultipart(body []byte, boundary string) ([]byte, error) {
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

// requestHeaders copies the app's headers without hop-by-hop headers,
// credentials, and what the proxy's own client manages (Accept-Encoding:
// answers come back decoded, so transforms can read them).
func requestHeaders(in http.Header) http.Header {
	h := in.Clone()
	http1.RemoveHopByHop(h)
	for _, k := range []string{"Authorization", "Cookie", "Accept-Encoding", "Expect", "Host", "Content-Length"} {
		h.Del(k)
	}
	return h
}
