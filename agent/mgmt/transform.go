package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/internal/http1"
	"github.com/portolan/portolan/swagger"
)

// maxTransformFile bounds the --mgmt-transform file.
const maxTransformFile = 1 << 20

// The --mgmt-transform file is YAML. Every entry applies to the operations its
// match rule selects (the swagger rule syntax: "op:OPERATION_ID", "tag:NAME",
// or "METHOD PATH_GLOB"); several entries may apply to one operation, in file
// order. Every key is optional but match; an unknown key is a start-up error
// naming the key and its line.
//
//	transforms:
//	  - match: "* /admin/api/backend_apis/**"
//	    path:                         # rewrite the forwarded path's prefix,
//	      from: /legacy/api           # on a segment boundary
//	      to: /admin/api
//	    request:
//	      headers:
//	        set: {X-Team: payments}   # set (replace) request headers
//	        remove: [X-Debug]
//	      query:                      # applied in this order: rename, remove, set
//	        rename: {size: per_page}
//	        remove: [debug]
//	        set: {per_page: "50"}
//	      body:                       # JSON bodies only: remove, then rename
//	        remove: [backend_api.internal_note]
//	        rename: {backend_api.title: name}
//	    response:
//	      body:
//	        remove: [backend_apis.backend_api.private_endpoint]
//	        rename: {backend_api.system_name: slug}
//
// Body fields are dotted paths into nested objects; a path crossing an array
// applies to every element of it (backend_apis.backend_api.id above). A
// rename gives the last field a new name in the same object. Keys containing
// a dot cannot be addressed. Body transforms fail closed: an operation with
// request body transforms takes only JSON bodies (415 otherwise), one with
// response body transforms refuses its .xml form (406), and an answer they
// cannot read (not JSON, or in an encoding not asked for) is withheld (502).
// A query parameter removed or set is removed under every spelling Rack
// reads as it ("[debug]", "debug[]"), and refused in the body (400). A
// request body op applies at the top level and inside every top-level
// object (the wrapper, {"backend_api":{...}}), and its field is refused in
// the query string (400); see guard.go. Query parameters access_token,
// provider_key and _method, and the headers the proxy owns (Host,
// Content-Length, hop-by-hop headers, method overrides) cannot be set.
type transformFile struct {
	Transforms []transformEntry `yaml:"transforms"`
}

type transformEntry struct {
	Match    string      `yaml:"match"`
	Path     *pathPrefix `yaml:"path"`
	Request  requestOps  `yaml:"request"`
	Response responseOps `yaml:"response"`
}

type pathPrefix struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

type requestOps struct {
	Headers headerOps `yaml:"headers"`
	Query   queryOps  `yaml:"query"`
	Body    bodyOps   `yaml:"body"`
}

type responseOps struct {
	Body bodyOps `yaml:"body"`
}

type headerOps struct {
	Set    map[string]string `yaml:"set"`
	Remove []string          `yaml:"remove"`
}

type queryOps struct {
	Rename map[string]string `yaml:"rename"`
	Remove []string          `yaml:"remove"`
	Set    map[string]string `yaml:"set"`
}

type bodyOps struct {
	Remove []string          `yaml:"remove"`
	Rename map[string]string `yaml:"rename"`
}

// transform is one compiled entry.
type transform struct {
	rule     swagger.Rule
	from, to string // path prefix rewrite; from == "" for none
	setHdr   [][2]string
	delHdr   []string
	renameQ  [][2]string
	delQ     []string
	setQ     [][2]string
	reqBody  []bodyOp
	respBody []bodyOp
}

// bodyOp removes the field at path, or renames it to rename.
type bodyOp struct {
	path   []string
	rename string
}

// loadTransforms reads and compiles a --mgmt-transform file.
func loadTransforms(file string) ([]*transform, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-transform: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTransformFile+1))
	if err != nil {
		return nil, fmt.Errorf("--mgmt-transform %s: %w", file, err)
	}
	if len(data) > maxTransformFile {
		return nil, fmt.Errorf("--mgmt-transform %s: larger than 1 MiB", file)
	}
	ts, err := parseTransforms(data)
	if err != nil {
		return nil, fmt.Errorf("--mgmt-transform %s: %w", file, err)
	}
	return ts, nil
}

// parseTransforms decodes and compiles the YAML document data.
func parseTransforms(data []byte) ([]*transform, error) {
	var doc transformFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n ", ""))
	}
	out := make([]*transform, 0, len(doc.Transforms))
	for i, e := range doc.Transforms {
		t, err := compileTransform(e)
		if err != nil {
			return nil, fmt.Errorf("transforms[%d] (match %q): %w", i, e.Match, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func compileTransform(e transformEntry) (*transform, error) {
	if e.Match == "" {
		return nil, errors.New("match is required: op:OPERATION_ID, tag:NAME or METHOD PATH_GLOB")
	}
	rule, err := swagger.ParseRule(e.Match)
	if err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	t := &transform{rule: rule}
	if e.Path != nil {
		if t.from, err = canonicalPrefix(e.Path.From, false); err != nil {
			return nil, fmt.Errorf("path.from: %w", err)
		}
		if t.to, err = canonicalPrefix(e.Path.To, true); err != nil {
			return nil, fmt.Errorf("path.to: %w", err)
		}
	}
	for _, k := range sortedKeys(e.Request.Headers.Set) {
		name, err := headerName(k)
		if err != nil {
			return nil, fmt.Errorf("request.headers.set: %w", err)
		}
		v := e.Request.Headers.Set[k]
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("request.headers.set: %s: the value holds a CR, LF or NUL", name)
		}
		t.setHdr = append(t.setHdr, [2]string{name, v})
	}
	for _, k := range e.Request.Headers.Remove {
		name, err := headerName(k)
		if err != nil {
			return nil, fmt.Errorf("request.headers.remove: %w", err)
		}
		t.delHdr = append(t.delHdr, name)
	}
	q := e.Request.Query
	for _, k := range sortedKeys(q.Rename) {
		if err := checkQueryName(k); err != nil {
			return nil, fmt.Errorf("request.query.rename: %w", err)
		}
		if err := checkQueryName(q.Rename[k]); err != nil {
			return nil, fmt.Errorf("request.query.rename %s: %w", k, err)
		}
		t.renameQ = append(t.renameQ, [2]string{k, q.Rename[k]})
	}
	for _, k := range q.Remove {
		if err := checkQueryName(k); err != nil {
			return nil, fmt.Errorf("request.query.remove: %w", err)
		}
		t.delQ = append(t.delQ, k)
	}
	for _, k := range sortedKeys(q.Set) {
		if err := checkQueryName(k); err != nil {
			return nil, fmt.Errorf("request.query.set: %w", err)
		}
		t.setQ = append(t.setQ, [2]string{k, q.Set[k]})
	}
	if t.reqBody, err = compileBodyOps(e.Request.Body); err != nil {
		return nil, fmt.Errorf("request.body: %w", err)
	}
	if t.respBody, err = compileBodyOps(e.Response.Body); err != nil {
		return nil, fmt.Errorf("response.body: %w", err)
	}
	return t, nil
}

// canonicalPrefix checks a path prefix rewrite end: a canonical path, or ""
// where empty is allowed (to: "" strips the prefix).
func canonicalPrefix(p string, emptyOK bool) (string, error) {
	if p == "" && emptyOK {
		return "", nil
	}
	_, esc, err := normalizePath(p)
	if err != nil {
		return "", fmt.Errorf("%q: %w", p, err)
	}
	if esc != p || p == "/" {
		return "", fmt.Errorf("%q is not a canonical path such as /admin/api", p)
	}
	return p, nil
}

// headerName canonicalises a header name and refuses the ones the
// proxy owns.
func headerName(k string) (string, error) {
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return !tokenChar(r) }) >= 0 {
		return "", fmt.Errorf("%q is not a valid header name", k)
	}
	name := http.CanonicalHeaderKey(k)
	// Proxy-* headers speak to proxies on the way; a transform sets none.
	if http1.HopByHop(name) || strings.HasPrefix(name, "Proxy-") || slices.Contains(ownedHeaders, name) {
		return "", fmt.Errorf("%s is managed by the proxy and cannot be transformed", name)
	}
	return name, nil
}

// ownedHeaders are request headers transforms cannot touch: the proxy sets
// them, or refuses them (method overrides), or drops them (a Range's
// partial answer could cut an echoed token in two, past redaction).
var ownedHeaders = []string{"Host", "Content-Length", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "Range", "If-Range"}

func tokenChar(r rune) bool {
	return r < 0x7f && r > 0x20 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

// checkQueryName refuses empty names and the parameters the proxy owns.
func checkQueryName(k string) error {
	switch k {
	case "":
		return errors.New("empty parameter name")
	case "access_token", "provider_key":
		return fmt.Errorf("%s is the proxy's credential (--mgmt-token) and cannot be transformed", k)
	case "_method":
		return errors.New("_method overrides the HTTP method and is refused by the proxy")
	}
	return nil
}

func compileBodyOps(b bodyOps) ([]bodyOp, error) {
	var ops []bodyOp
	for _, p := range b.Remove {
		path, err := fieldPath(p)
		if err != nil {
			return nil, fmt.Errorf("remove: %w", err)
		}
		ops = append(ops, bodyOp{path: path})
	}
	for _, p := range sortedKeys(b.Rename) {
		path, err := fieldPath(p)
		if err != nil {
			return nil, fmt.Errorf("rename: %w", err)
		}
		to := b.Rename[p]
		if to == "" || strings.Contains(to, ".") {
			return nil, fmt.Errorf("rename %s: the new name %q must be one non-empty field name, without dots", p, to)
		}
		ops = append(ops, bodyOp{path: path, rename: to})
	}
	return ops, nil
}

func fieldPath(p string) ([]string, error) {
	parts := strings.Split(p, ".")
	if slices.Contains(parts, "") {
		return nil, fmt.Errorf("%q is not a dotted field path such as service.name", p)
	}
	return parts, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// rewritePath applies the prefix rewrite to the escaped, canonical path p.
// from matches whole segments only: /legacy/api matches /legacy/api/x, not
// /legacy/apix.
func (t *transform) rewritePath(p string) string {
	if t.from == "" {
		return p
	}
	rest, ok := strings.CutPrefix(p, t.from)
	if !ok || (rest != "" && rest[0] != '/') {
		return p
	}
	if out := t.to + rest; out != "" {
		return out
	}
	return "/"
}

// applyHeaders removes, then sets, request headers.
func (t *transform) applyHeaders(h http.Header) {
	for _, k := range t.delHdr {
		h.Del(k)
	}
	for _, kv := range t.setHdr {
		h.Set(kv[0], kv[1])
	}
}

// applyQuery renames, removes, then sets query parameters.
func (t *transform) applyQuery(q url.Values) {
	for _, kv := range t.renameQ {
		if vs, ok := q[kv[0]]; ok {
			delete(q, kv[0])
			q[kv[1]] = append(q[kv[1]], vs...)
		}
	}
	for _, k := range t.delQ {
		deleteRackKey(q, k)
	}
	for _, kv := range t.setQ {
		deleteRackKey(q, kv[0])
		q.Set(kv[0], kv[1])
	}
}

// deleteRackKey deletes every parameter Rack reads as name ("[debug]",
// "debug[]" and "debug" all set debug; see rackKey), so that what a
// transform removes or sets cannot come back under another spelling.
func deleteRackKey(q url.Values, name string) {
	for k := range q {
		if k == name || rackKey(k) == name {
			delete(q, k)
		}
	}
}

// transformJSONStrict applies ops to a JSON document: body unchanged when
// no op applies, otherwise re-encoded (editJSON). It fails on a body it
// cannot read, where what the ops hide or rename must not pass unchanged.
func transformJSONStrict(body []byte, ops []bodyOp) ([]byte, error) {
	if len(ops) == 0 {
		return body, nil
	}
	return editJSON(body, func(doc any) bool {
		changed := false
		for _, op := range ops {
			changed = applyBodyOp(doc, op.path, op.rename) || changed
		}
		return changed
	})
}

// editJSON decodes one JSON document, lets edit change it, and re-encodes it
// when edit reports a change (numbers kept as written, object keys sorted).
func editJSON(body []byte, edit func(doc any) bool) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	if !edit(doc) {
		return body, nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// applyBodyOp removes (rename == "") or renames the field at path under v,
// in every element of the arrays on the way; it reports whether v changed.
func applyBodyOp(v any, path []string, rename string) bool {
	switch x := v.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		if !ok {
			return false
		}
		if len(path) > 1 {
			return applyBodyOp(child, path[1:], rename)
		}
		delete(x, path[0])
		if rename != "" {
			x[rename] = child
		}
		return true
	case []any:
		changed := false
		for _, e := range x {
			changed = applyBodyOp(e, path, rename) || changed
		}
		return changed
	}
	return false
}

// isJSON reports whether a Content-Type names a JSON body.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
