package threescale

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ReadParams decodes r's query string and body. If a middleware already read
// the body (see ParamsFrom), those params are returned, since the body can be
// read only once.
//
// The body is decoded by Content-Type: application/x-www-form-urlencoded (also
// for a body without Content-Type), application/json, application/xml or
// text/xml (a root element whose children are the fields; nested elements
// become bracket keys), multipart/form-data. An empty body yields only the
// query params, whatever the Content-Type.
//
// Errors: a body over limit bytes (limit <= 0 means DefaultBodyLimit) maps to
// 413; a malformed query, body or Content-Type to 400 with a message naming
// the problem; an unknown Content-Type to 415. Use WriteError to render them.
func ReadParams(w http.ResponseWriter, r *http.Request, limit int64) (*Params, error) {
	if p, ok := ParamsFrom(r.Context()); ok {
		return p, nil
	}
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequestf(err, "malformed query string: %v", err)
	}
	body, err := readLimitedBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	p, err := parseParamsBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range query {
		if _, ok := p.values[k]; !ok {
			p.values[k] = vs
		}
	}
	return p, nil
}

// readLimitedBody reads at most limit bytes of r's body and puts an
// in-memory copy back, so later readers of r.Body still see it.
func readLimitedBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &statusError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("request body exceeds %d bytes", limit), err: err}
		}
		return nil, badRequestf(err, "reading request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// parseParamsBody decodes body by contentType.
func parseParamsBody(contentType string, body []byte) (*Params, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return &Params{values: url.Values{}}, nil
	}
	if strings.TrimSpace(contentType) == "" {
		return parseFormBody(body)
	}
	mt, mtParams, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, badRequestf(err, "malformed Content-Type %q: %v", contentType, err)
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return parseFormBody(body)
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return parseJSONBody(body)
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return parseXMLBody(body)
	case mt == "multipart/form-data":
		boundary := mtParams["boundary"]
		if boundary == "" {
			return nil, BadRequest("malformed multipart body: Content-Type has no boundary")
		}
		return parseMultipartBody(body, boundary)
	default:
		return nil, unsupportedMediaTypeError(mt)
	}
}

func parseFormBody(body []byte) (*Params, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequestf(err, "malformed form body: %v", err)
	}
	return &Params{values: vals}, nil
}

func parseMultipartBody(body []byte, boundary string) (*Params, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	vals := url.Values{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			// The reader skips anything before the first boundary, so a
			// body without one would silently read as no params.
			if !bytes.Contains(body, []byte("--"+boundary)) {
				return nil, BadRequest(fmt.Sprintf("malformed multipart body: boundary %q not found", boundary))
			}
			break
		}
		if err != nil {
			return nil, badRequestf(err, "malformed multipart body: %v", err)
		}
		name := part.FormName()
		// File parts count as values too: an ActiveDocs body may be uploaded
		// as a file (curl -F body=@spec.json).
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, badRequestf(err, "malformed multipart body: part %q: %v", name, err)
		}
		if name != "" {
			vals.Add(name, string(data))
		}
	}
	return &Params{values: vals}, nil
}

// parseJSONBody decodes a JSON object body, unwrapping a single-object wrapper.
func parseJSONBody(body []byte) (*Params, error) {
	p, err := jsonObjectParams(body)
	if err != nil {
		return nil, err
	}
	keys := sortedMapKeys(p.raw)
	if len(keys) != 1 || jsonValueKind(p.raw[keys[0]]) != '{' {
		return p, nil
	}
	wrapper := keys[0]
	var members map[string]json.RawMessage
	if err := json.Unmarshal(p.raw[wrapper], &members); err != nil {
		return nil, badRequestf(err, "malformed JSON body: %v", err)
	}
	for _, k := range sortedMapKeys(members) {
		if k == wrapper {
			continue
		}
		p.raw[k] = members[k]
		if err := flattenRawMember(p.values, k, members[k]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// jsonObjectParams decodes body, which must be one JSON object, into raw
// members and their flat view.
func jsonObjectParams(body []byte) (*Params, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, BadRequest(fmt.Sprintf("malformed JSON body: expected an object at offset %d", len(body)-len(trimmed)))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		return nil, malformedJSONError(err, len(body))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		rest := body[end:]
		end += int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n")))
		return nil, BadRequest(fmt.Sprintf("malformed JSON body: unexpected data after the object at offset %d", end))
	}
	p := &Params{values: url.Values{}, raw: members}
	if p.raw == nil {
		p.raw = map[string]json.RawMessage{}
	}
	for _, k := range sortedMapKeys(members) {
		if err := flattenRawMember(p.values, k, members[k]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func malformedJSONError(err error, size int) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return badRequestf(err, "malformed JSON body: %v at offset %d", syn, syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequestf(err, "malformed JSON body: unexpected EOF at offset %d", size)
	default:
		return badRequestf(err, "malformed JSON body: %v", err)
	}
}

// flattenRawMember adds the flat view of one JSON member to vals.
func flattenRawMember(vals url.Values, key string, raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return malformedJSONError(err, len(raw))
	}
	flattenJSONValue(vals, key, v, 0)
	return nil
}

func flattenJSONValue(vals url.Values, key string, v any, depth int) {
	switch t := v.(type) {
	case map[string]any:
		if depth >= maxFlatDepth {
			return
		}
		for _, k := range sortedMapKeys(t) {
			flattenJSONValue(vals, key+"["+k+"]", t[k], depth+1)
		}
	case []any:
		// Arrays of objects are only reachable through Raw.
		for _, e := range t {
			if s, ok := jsonScalarText(e); ok {
				vals.Add(key, s)
			}
		}
	default:
		if s, ok := jsonScalarText(v); ok {
			vals.Add(key, s)
		}
	}
}

// jsonScalarText renders a decoded JSON scalar as its flat string; null and
// composites have none.
func jsonScalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	default:
		return "", false
	}
}

// jsonValueKind is the first byte of a JSON value ('{', '[', '"', 'n', 't',
// 'f', a digit or '-'), or 0 for an empty value.
func jsonValueKind(raw []byte) byte {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return 0
	}
	return trimmed[0]
}

// parseXMLBody decodes a single root element whose children are the params:
// <service><name>x</name><billing_address><city>Y</city></billing_address></service>
// gives name=x and billing_address[city]=Y. Repeated elements give repeated
// values; an element with nil="true" (Rails' convention) is absent.
func parseXMLBody(body []byte) (*Params, error) {
	type frame struct {
		key      string
		text     bytes.Buffer
		children bool
		null     bool
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	vals := url.Values{}
	var stack []*frame
	rootDone := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequestf(err, "malformed XML body: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return nil, BadRequest(fmt.Sprintf("malformed XML body: second root element <%s> at offset %d", t.Name.Local, dec.InputOffset()))
			}
			if len(stack) > maxFlatDepth {
				return nil, BadRequest(fmt.Sprintf("malformed XML body: elements nested deeper than %d", maxFlatDepth))
			}
			f := &frame{null: xmlNilAttr(t.Attr)}
			n := len(stack)
			switch {
			case n == 1: // a child of the root is a field
				f.key = t.Name.Local
			case n > 1:
				f.key = stack[n-1].key + "[" + t.Name.Local + "]"
			}
			if n > 0 {
				stack[n-1].children = true
			}
			stack = append(stack, f)
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				rootDone = true
				continue
			}
			if !f.children && !f.null {
				vals.Add(f.key, f.text.String())
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, BadRequest(fmt.Sprintf("malformed XML body: text outside the root element at offset %d", dec.InputOffset()))
				}
				continue
			}
			if top := stack[len(stack)-1]; !top.children {
				top.text.Write(t)
			}
		}
	}
	if !rootDone {
		return nil, BadRequest("malformed XML body: no root element")
	}
	return &Params{values: vals}, nil
}

func xmlNilAttr(attrs []xml.Attr) bool {
	for _, a := range attrs {
		if a.Name.Local == "nil" && a.Value == "true" {
			return true
		}
	}
	return false
}
