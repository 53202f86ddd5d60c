package mgmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// How the proxy reads a request body the way the upstream will. 3scale's
// admin API (porta) is a full Rails app: Rack::MethodOverride turns a POST
// into the method a "_method" form field names, and Rack decides what a
// form is from the Content-Type. Wherever Go and Rack could read a body
// differently, the proxy refuses it or re-encodes it in a form both read
// alike, so the check on _method and credentials holds for what porta sees.

// bodyError is a body the proxy refuses; status is the answer's.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

func badBody(format string, args ...any) error {
	return &bodyError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// bodyType is the media type of a request body as the proxy and Rack both
// read it; "" when the request has no Content-Type (Rack then reads a POST
// body as a form). It refuses a Content-Type Rack would read differently
// from Go: Rack takes what comes before the first ";" or "," (rack
// lib/rack/media_type.rb SPLIT_PATTERN), so "application/x-www-form-urlencoded,
// text/plain" is a form to porta and unreadable to Go's mime package; and
// two Content-Type headers, which servers join or pick from as they like.
func bodyType(h http.Header) (mt string, params map[string]string, err error) {
	values := h.Values("Content-Type")
	switch {
	case len(values) == 0:
		return "", nil, nil
	case len(values) > 1:
		return "", nil, badBody("more than one Content-Type header: send one")
	}
	ct := values[0]
	rackType, _, _ := strings.Cut(ct, ";")
	rackType, _, _ = strings.Cut(rackType, ",")
	rackType = strings.ToLower(strings.TrimSpace(rackType))
	if rackType == "" {
		return "", nil, nil // Rack reads an empty type as none
	}
	mt, params, err = mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return "", nil, badBody("Content-Type %.100q is not a media type the proxy can read: send one such as application/json", ct)
	}
	if mt != rackType {
		return "", nil, badBody("Content-Type %.100q is ambiguous: send one media type", ct)
	}
	return mt, params, nil
}

// rackKey is the top-level parameter a form field name sets in Rack's
// nested params: Rack 2 (porta's) skips leading brackets and ends the key
// at the next bracket (rack lib/rack/query_parser.rb normalize_params:
// "[_method]" and "_method]" both set _method), Rack 3 ends it at the
// first "[", and the form separator swallows spaces after "&" (DEFAULT_SEP
// /[&] */). The result covers both readings.
func rackKey(name string) string {
	k := strings.TrimLeft(name, " ")
	k = strings.TrimLeft(k, "[]")
	if i := strings.IndexAny(k, "[]"); i >= 0 {
		k = k[:i]
	}
	return k
}

// isCredential reports whether a form field sets a 3scale credential.
func isCredential(name string) bool {
	k := rackKey(name)
	return k == "access_token" || k == "provider_key"
}

var errMethodField = errors.New("the _method field is refused: send the real method")

// stripCredentials removes access_token and provider_key from form,
// multipart and JSON bodies, and refuses a _method field. A body without a
// Content-Type counts as a form, as Rack and 3scale read it. It returns the
// body and the Content-Type to forward.
func stripCredentials(mt string, params map[string]string, contentType string, body []byte) ([]byte, string, error) {
	switch {
	case mt == "" || mt == "application/x-www-form-urlencoded":
		out, err := stripForm(body)
		return out, contentType, err
	case mt == "multipart/form-data":
		return stripMultipart(body, params["boundary"])
	case strings.HasPrefix(mt, "multipart/"):
		// Rack parses multipart/mixed and multipart/related as forms too
		// (Request#parseable_data?); the management API takes none.
		return nil, "", &bodyError{status: http.StatusUnsupportedMediaType,
			msg: mt + " bodies are refused: send multipart/form-data, a form or JSON"}
	case isJSON(mt):
		// Wrapped too: home and Rails read {"backend_api":{"access_token":…}}
		// as the call's own (guard.go).
		if out, err := transformRequestJSON(body, credentialOps); err == nil {
			return out, contentType, nil
		}
		return body, contentType, nil
	}
	return body, contentType, nil
}

// stripForm drops credential fields from a urlencoded form and refuses a
// field Rack reads as _method.
func stripForm(body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badBody("malformed form body: %v", err)
	}
	changed := false
	for k := range form {
		if rackKey(k) == "_method" {
			return nil, errMethodField
		}
		if isCredential(k) {
			delete(form, k)
			changed = true
		}
	}
	if !changed {
		return body, nil
	}
	return []byte(form.Encode()), nil
}

// stripMultipart re-encodes a multipart/form-data body: every part gets a
// Content-Disposition the proxy writes itself, and the body a fresh
// boundary. Rack reads a part's name from more places than Go (a
// Content-Disposition of any type, a Content-ID, the last "name=" of the
// header line; rack lib/rack/multipart.rb), and the boundary from the last
// "boundary=" of the Content-Type; re-encoding leaves it only what Go read.
func stripMultipart(body []byte, boundary string) ([]byte, string, error) {
	if boundary == "" {
		return nil, "", badBody("malformed multipart body: no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", badBody("malformed multipart body: %v", err)
		}
		name, file := part.FormName(), part.FileName()
		if name == "" {
			return nil, "", badBody("multipart part without a form-data name: every part needs Content-Disposition: form-data; name=...")
		}
		for _, s := range []string{name, file} {
			if unsafeFormName(s) {
				return nil, "", badBody("multipart name or filename %.60q holds a quote, backslash, semicolon, control byte or \"name=\"", s)
			}
		}
		if rackKey(name) == "_method" {
			return nil, "", errMethodField
		}
		if isCredential(name) {
			continue
		}
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + name + `"`
		if file != "" {
			disp += `; filename="` + file + `"`
		}
		h.Set("Content-Disposition", disp)
		if ct := part.Header.Get("Content-Type"); ct != "" {
			pmt, _, err := mime.ParseMediaType(ct)
			if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
				return nil, "", badBody("multipart part %q: unreadable Content-Type", name)
			}
			h.Set("Content-Type", pmt)
		}
		pw, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(pw, part)
		}
		if err != nil {
			return nil, "", badBody("malformed multipart body: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("re-encoding the multipart body: %w", err)
	}
	return out.Bytes(), mw.FormDataContentType(), nil
}

// unsafeFormName reports whether s could end or extend the quoted value the
// proxy writes it in, or hold a second "name=" Rack's header regexps find.
func unsafeFormName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == ';' {
			return true
		}
	}
	return strings.Contains(strings.ToLower(s), "name=")
}
