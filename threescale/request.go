package threescale

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
)

// DefaultBodyLimit is the body size ReadParams allows when given no limit.
const DefaultBodyLimit int64 = 10 << 20

// maxFlatDepth bounds how deep nested JSON objects and XML elements become
// bracket keys: deeper JSON stays reachable through Raw, deeper XML is
// refused.
const maxFlatDepth = 32

// Params is a decoded request: query string plus body.
//
// The flat view (Get, All) holds string values as sent, every value of a
// repeated key kept: All and the list readers (Bind's []T, "k[]") collect
// them, and Get reads a repeated key as porta's Rack does, its last value
// (rackValue), so "approval_required=0&approval_required=1" is "1".
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

// Get returns the value of key in the flat view: its last, as Rack reads
// a repeated name (rack_params.go).
func (p *Params) Get(key string) (string, bool) {
	if p == nil {
		return "", false
	}
	return rackValue(p.values[key])
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
