package threescale

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// DefaultBodyLimit is the body size ReadParams allows when given no limit.
const DefaultBodyLimit int64 = 10 << 20

// maxFlatDepth bounds how deep nested JSON objects and XML elements become
// bracket keys: deeper JSON stays reachable through Raw, deeper XML is
// refused.
const maxFlatDepth = 32

// Params is a decoded request: query string plus body.
//
// The flat view (Get, All) holds string values with url.Values semantics.
// Keys are kept as sent, so 3scale's bracket style stays one key:
// "usage[hits]", "billing_address[city]", "hosts[]". JSON and XML bodies are
// flattened into the same shape: nested objects/elements become bracket keys,
// arrays of scalars repeated values, JSON numbers keep their text, booleans
// are "true"/"false" and null is absent.
//
// For JSON bodies Raw also gives each top-level value as sent. A body whose
// only member is an object ({"account":{...}}) is exposed both ways: as the
// wrapper ("account", "account[org_name]") and as its inner members
// ("org_name"), because 3scale clients send both shapes.
//
// Body values win over query values of the same key.
type Params struct {
	values url.Values
	raw    map[string]json.RawMessage
}

// NewParams returns Params holding a copy of values (for tests and callers
// that build params themselves).
func NewParams(values url.Values) *Params {
	p := &Params{values: url.Values{}}
	for k, vs := range values {
		p.values[k] = append([]string(nil), vs...)
	}
	return p
}

// Get returns the first value of key in the flat view.
func (p *Params) Get(key string) (string, bool) {
	if p == nil {
		return "", false
	}
	vs, ok := p.values[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// All returns every value of key in the flat view.
func (p *Params) All(key string) []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.values[key]...)
}

// Has reports whether key was sent, including as a JSON null (which has no
// flat value but a Raw one): handlers use it to tell "clear" from "absent".
func (p *Params) Has(key string) bool {
	if p == nil {
		return false
	}
	if _, ok := p.values[key]; ok {
		return true
	}
	_, ok := p.raw[key]
	return ok
}

// Raw returns the JSON value of a top-level (or unwrapped) member of a JSON
// body. Form, multipart and XML params have no raw values.
func (p *Params) Raw(key string) (json.RawMessage, bool) {
	if p == nil {
		return nil, false
	}
	v, ok := p.raw[key]
	return v, ok
}

// Keys returns every key of the flat and raw views, sorted.
func (p *Params) Keys() []string {
	if p == nil {
		return nil
	}
	set := make(map[string]struct{}, len(p.values)+len(p.raw))
	for k := range p.values {
		set[k] = struct{}{}
	}
	for k := range p.raw {
		set[k] = struct{}{}
	}
	return sortedMapKeys(set)
}

// hasPrefix reports whether some flat key starts with prefix.
func (p *Params) hasPrefix(prefix string) bool {
	for k := range p.values {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// sub returns the params nested under key: "key[city]" becomes "city",
// "key[a][b]" becomes "a[b]", and a raw JSON object's members become raw
// values.
func (p *Params) sub(key string) *Params {
	s := &Params{values: url.Values{}}
	prefix := key + "["
	for _, k := range sortedMapKeys(p.values) {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		i := strings.IndexByte(rest, ']')
		if i <= 0 || (i+1 < len(rest) && rest[i+1] != '[') {
			continue
		}
		nk := rest[:i] + rest[i+1:]
		s.values[nk] = append(s.values[nk], p.values[k]...)
	}
	if raw, ok := p.raw[key]; ok && jsonValueKind(raw) == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			s.raw = m
		}
	}
	return s
}

type paramsCtxKey struct{}

// contextWithParams stores p in ctx for ReadParams and ParamsFrom.
func contextWithParams(ctx context.Context, p *Params) context.Context {
	return context.WithValue(ctx, paramsCtxKey{}, p)
}

// ParamsFrom returns the params a middleware (TokenChecker.Middleware)
// already read from the request body.
func ParamsFrom(ctx context.Context) (*Params, bool) {
	p, ok := ctx.Value(paramsCtxKey{}).(*Params)
	return p, ok && p != nil
}

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

var (
	timeReflectType = reflect.TypeFor[time.Time]()
	rawJSONType     = reflect.TypeFor[json.RawMessage]()
)

// Bind sets the exported fields of the struct pointed to by dst from p, by
// their json tag names. Fields tagged wire:"ro" or wire:"-" and time.Time
// fields are never set; fields whose key is absent are left alone, so Bind
// serves both create (on a zero struct) and update (on the stored entity).
// A JSON null sets the zero value.
//
// Conversions: int kinds base 10, bool "true"/"false"/"1"/"0", float64,
// []T from "k[]" or repeated "k" (or a JSON array), map[string]string from
// "k[sub]" keys (or a JSON object), json.RawMessage from the raw JSON or a
// string holding JSON, nested structs from "k[field]" keys or a JSON object
// (recursively, honouring ro), other kinds (slices of structs, interfaces)
// from JSON. A value that does not convert is a *composition.FieldError.
//
// create is informational: required fields are the domain's to check.
func Bind(p *Params, dst any, create bool) error {
	_ = create
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("threescale.Bind: destination must be a non-nil pointer to a struct, got %T", dst)
	}
	if p == nil {
		p = &Params{}
	}
	return bindStructFields(p, rv.Elem(), "")
}

func bindStructFields(p *Params, sv reflect.Value, prefix string) error {
	for _, f := range wireFields(sv.Type()) {
		if f.opts.ro {
			continue
		}
		if !p.Has(f.name) && !p.hasPrefix(f.name+"[") {
			continue
		}
		fv, ok := fieldByIndex(sv, f.index, true)
		if !ok || !fv.CanSet() {
			continue
		}
		path := f.name
		if prefix != "" {
			path = prefix + "[" + f.name + "]"
		}
		if err := bindFieldValue(p, f.name, fv, path); err != nil {
			return err
		}
	}
	return nil
}

func newFieldError(path, msg string, err error) error {
	return &composition.FieldError{Field: path, Message: msg, Err: err}
}

func bindFieldValue(p *Params, key string, fv reflect.Value, path string) error {
	raw, hasRaw := p.Raw(key)
	if hasRaw && jsonValueKind(raw) == 'n' {
		fv.SetZero()
		return nil
	}
	t := fv.Type()
	switch {
	case t == timeReflectType:
		return nil
	case t == rawJSONType:
		if hasRaw {
			fv.SetBytes(bytes.Clone(raw))
			return nil
		}
		if s, ok := p.Get(key); ok {
			if !json.Valid([]byte(s)) {
				return newFieldError(path, "is not valid JSON", nil)
			}
			fv.SetBytes([]byte(s))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if t.Elem() == timeReflectType {
			return nil
		}
		elem := reflect.New(t.Elem())
		if !fv.IsNil() {
			elem.Elem().Set(fv.Elem())
		}
		if err := bindFieldValue(p, key, elem.Elem(), path); err != nil {
			return err
		}
		fv.Set(elem)
		return nil
	case reflect.Struct:
		return bindNestedField(p, key, fv, path)
	case reflect.Slice:
		if isScalarReflectKind(t.Elem().Kind()) {
			return bindListField(p, key, fv, path)
		}
		return bindJSONField(p, key, fv, path)
	case reflect.Array:
		return bindJSONField(p, key, fv, path)
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return bindMapField(p, key, fv, path)
		}
		return bindJSONField(p, key, fv, path)
	case reflect.Interface:
		if !hasRaw {
			if s, ok := p.Get(key); ok && reflect.TypeOf(s).AssignableTo(t) {
				fv.Set(reflect.ValueOf(s))
			}
			return nil
		}
		return bindJSONField(p, key, fv, path)
	}
	if !isScalarReflectKind(t.Kind()) {
		return nil
	}
	if hasRaw && (jsonValueKind(raw) == '{' || jsonValueKind(raw) == '[') {
		return newFieldError(path, "is invalid", nil)
	}
	s, ok := p.Get(key)
	if !ok {
		return nil
	}
	return setScalarValue(fv, s, path)
}

func isScalarReflectKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// setScalarValue converts s to fv's kind.
func setScalarValue(fv reflect.Value, s, path string) error {
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "1":
			fv.SetBool(true)
		case "false", "0":
			fv.SetBool(false)
		default:
			return newFieldError(path, "is not a boolean", nil)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, fv.Type().Bits())
		if err != nil {
			return intFieldError(path, s, err)
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if strings.HasPrefix(s, "-") {
			return newFieldError(path, "must be greater than or equal to 0", nil)
		}
		n, err := strconv.ParseUint(s, 10, fv.Type().Bits())
		if err != nil {
			return intFieldError(path, s, err)
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, fv.Type().Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return newFieldError(path, "is not a number", err)
		}
		fv.SetFloat(f)
	default:
		return newFieldError(path, "is not supported", nil)
	}
	return nil
}

func intFieldError(path, s string, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return newFieldError(path, "is out of range", err)
	}
	if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
		return newFieldError(path, "must be an integer", err)
	}
	return newFieldError(path, "is not a number", err)
}

// listParamValues returns the items of a list param: a JSON array, "key[]" values
// or repeated "key" values.
func listParamValues(p *Params, key, path string) ([]string, error) {
	raw, hasRaw := p.Raw(key)
	if !hasRaw || jsonValueKind(raw) != '[' {
		if vs, ok := p.values[key+"[]"]; ok {
			return vs, nil
		}
		return p.values[key], nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var items []any
	if err := dec.Decode(&items); err != nil {
		return nil, newFieldError(path, "is invalid", err)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := jsonScalarText(it)
		if !ok {
			return nil, newFieldError(path, "is invalid", nil)
		}
		out = append(out, s)
	}
	return out, nil
}

func bindListField(p *Params, key string, fv reflect.Value, path string) error {
	items, err := listParamValues(p, key, path)
	if err != nil {
		return err
	}
	out := reflect.MakeSlice(fv.Type(), len(items), len(items))
	for i, s := range items {
		if err := setScalarValue(out.Index(i), s, path); err != nil {
			return err
		}
	}
	fv.Set(out)
	return nil
}

func bindMapField(p *Params, key string, fv reflect.Value, path string) error {
	sub := p.sub(key)
	if raw, ok := p.Raw(key); ok && jsonValueKind(raw) != '{' {
		return newFieldError(path, "is invalid", nil)
	}
	if len(sub.values) == 0 && len(sub.raw) == 0 {
		// A JSON object sent as a single string param.
		if s, ok := p.Get(key); ok {
			return bindJSONBytesField([]byte(s), fv, path)
		}
		if _, ok := p.Raw(key); !ok {
			return nil
		}
	}
	m := reflect.MakeMapWithSize(fv.Type(), len(sub.values))
	for _, k := range sortedMapKeys(sub.raw) {
		if c := jsonValueKind(sub.raw[k]); c == '{' || c == '[' {
			return newFieldError(path+"["+k+"]", "is invalid", nil)
		}
	}
	for k, vs := range sub.values {
		if strings.ContainsAny(k, "[]") || len(vs) == 0 {
			continue
		}
		ev := reflect.New(fv.Type().Elem()).Elem()
		ev.SetString(vs[0])
		m.SetMapIndex(reflect.ValueOf(k).Convert(fv.Type().Key()), ev)
	}
	fv.Set(m)
	return nil
}

func bindNestedField(p *Params, key string, fv reflect.Value, path string) error {
	raw, hasRaw := p.Raw(key)
	if hasRaw && jsonValueKind(raw) != '{' {
		return newFieldError(path, "is invalid", nil)
	}
	sub := p.sub(key)
	if len(sub.values) == 0 && len(sub.raw) == 0 && !hasRaw {
		s, ok := p.Get(key)
		if !ok {
			return nil
		}
		// A JSON object sent as a single string param.
		obj, err := jsonObjectParams([]byte(s))
		if err != nil {
			return newFieldError(path, "is invalid", err)
		}
		sub = obj
	}
	return bindStructFields(sub, fv, path)
}

func bindJSONField(p *Params, key string, fv reflect.Value, path string) error {
	if raw, ok := p.Raw(key); ok {
		return bindJSONBytesField(raw, fv, path)
	}
	if s, ok := p.Get(key); ok {
		return bindJSONBytesField([]byte(s), fv, path)
	}
	return nil
}

func bindJSONBytesField(data []byte, fv reflect.Value, path string) error {
	ptr := reflect.New(fv.Type())
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return newFieldError(path, "is invalid", err)
	}
	fv.Set(ptr.Elem())
	return nil
}
