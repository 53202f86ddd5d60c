package swagger

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/portolan/portolan/internal/redact"
)

// MaxSpecSize is the largest document Load and Parse accept.
const MaxSpecSize = 16 << 20

// methods are the operation keys of a path item, in the order they are
// looked up.
var methods = [...]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Spec is a parsed, validated Swagger 2.0 or OpenAPI 3.0/3.1 document. It is
// immutable and safe for concurrent use.
type Spec struct {
	version     string
	swagger2    bool
	title       string
	description string
	basePath    string
	root        *object
	json        []byte
	ops         []Operation
	schemes     []SecurityScheme
}

// Operation is one method of one path of a spec.
type Operation struct {
	Method  string   // upper case: GET, POST, ...
	Path    string   // the path template as written in the spec, e.g. /admin/api/services/{id}.json (no base path)
	ID      string   // operationId, may be ""
	Tags    []string // may be empty
	Summary string
}

// String returns "METHOD PATH".
func (op Operation) String() string { return op.Method + " " + op.Path }

// SecurityScheme is a security scheme that the spec's security requirements
// use.
type SecurityScheme struct {
	Name             string // the key in securitySchemes/securityDefinitions
	Type             string // "apiKey", "http", "basic" (Swagger 2), "oauth2", "openIdConnect"
	In               string // apiKey: "query", "header" or "cookie"
	ParamName        string // apiKey: the parameter name
	Scheme           string // http: "basic", "bearer"
	OpenIDConnectURL string
}

// A SchemaCheck checks a document against the OpenAPI schema of its version
// (Swagger 2.0 when swagger2) and resolves its references; its problems
// name lines of data. jsonForm gives the same document as JSON, for a YAML
// document the checker cannot read as it is (keys that are not strings,
// such as an unquoted 200:). openapischema.Check is the one Portolan uses;
// it lives in its own package because it is most of what the agent build
// leaves out (README "Two builds").
type SchemaCheck func(data []byte, swagger2 bool, jsonForm func() []byte) error

// Load reads a spec from a file path or an http(s) URL and parses it (see
// Parse). Reads are bounded by MaxSpecSize; ctx bounds a download, which
// follows no redirect from https to http (checkSpecRedirect).
func Load(ctx context.Context, src string, check SchemaCheck) (*Spec, error) {
	return load(ctx, nil, src, check)
}

// load is Load downloading through rt (nil: http.DefaultTransport; a
// test's trusts its TLS server).
func load(ctx context.Context, rt http.RoundTripper, src string, check SchemaCheck) (*Spec, error) {
	data, err := read(ctx, rt, src)
	if err != nil {
		return nil, err
	}
	s, err := Parse(data, check)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displaySource(src), err)
	}
	return s, nil
}

func isURL(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
}

// displaySource names src in messages without any credentials it carries.
func displaySource(src string) string {
	if !isURL(src) {
		return src
	}
	return cmp.Or(redact.URL(src), "the spec URL")
}

func read(ctx context.Context, rt http.RoundTripper, src string) ([]byte, error) {
	if src == "" {
		return nil, errors.New("load spec: no file or URL given")
	}
	if isURL(src) {
		return download(ctx, rt, src)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	defer f.Close()
	return readLimited(f, src)
}

// maxSpecRedirects bounds a download's requests, as net/http's default
// redirect policy does.
const maxSpecRedirects = 10

// checkSpecRedirect is the redirect policy of spec downloads: net/http's
// default, but never from https to http. A spec asked for over https and
// redirected to http would come in clear, where anyone on the way could
// read it or swap it for one of their own: other operations for the
// management proxy to let through, other routes for an import to create.
// Redirects within a scheme, and from http to https, are followed. The
// error names the redirect's target without its user info and query.
func checkSpecRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxSpecRedirects {
		return fmt.Errorf("stopped after %d redirects", maxSpecRedirects)
	}
	if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refused a redirect from https to %s (%s): the spec would come unencrypted and could be swapped on the way; "+
			"give the URL it is served at over https", req.URL.Scheme, cmp.Or(redact.URL(req.URL.String()), "its target"))
	}
	return nil
}

func download(ctx context.Context, rt http.RoundTripper, src string) ([]byte, error) {
	name := displaySource(src)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", name, err)
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
	resp, err := (&http.Client{Transport: rt, CheckRedirect: checkSpecRedirect}).Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the whole URL
		}
		return nil, fmt.Errorf("load spec %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("load spec %s: the server answered %s", name, resp.Status)
	}
	return readLimited(resp.Body, name)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSpecSize+1))
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", name, err)
	}
	if len(data) > MaxSpecSize {
		return nil, fmt.Errorf("load spec %s: larger than %d MiB", name, MaxSpecSize>>20)
	}
	return data, nil
}

// Parse parses a Swagger 2.0, OpenAPI 3.0.x or OpenAPI 3.1.x document, JSON
// or YAML, and checks it with check against the OpenAPI schema of its
// version. An invalid document gives an error naming the problems. With a
// nil check only the version is checked; paths, operations, servers and
// security schemes are read where they are well formed and skipped where
// not (FuzzParseStructure).
func Parse(data []byte, check SchemaCheck) (*Spec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("invalid spec: the document is empty")
	}
	if len(data) > MaxSpecSize {
		return nil, fmt.Errorf("invalid spec: larger than %d MiB", MaxSpecSize>>20)
	}
	root, err := decodeTree(data)
	if err != nil {
		return nil, fmt.Errorf("invalid spec: %w", err)
	}
	s := &Spec{root: root}
	if err := s.readVersion(); err != nil {
		return nil, fmt.Errorf("invalid spec: %w", err)
	}
	if check != nil {
		if err := check(data, s.swagger2, func() []byte { return encodeTree(root, "") }); err != nil {
			return nil, fmt.Errorf("invalid spec (%s %s): %w", s.kind(), s.version, externalRefError(root, err))
		}
	}
	info := root.obj("info")
	s.title = info.str("title")
	s.description = info.str("description")
	if s.basePath, err = s.readBasePath(); err != nil {
		return nil, fmt.Errorf("invalid spec: %w", err)
	}
	s.ops = s.readOperations()
	s.schemes = s.readSecuritySchemes()
	s.json = encodeTree(root, "")
	return s, nil
}

func (s *Spec) kind() string {
	if s.swagger2 {
		return "Swagger"
	}
	return "OpenAPI"
}

func (s *Spec) readVersion() error {
	_, openapi := s.root.get("openapi")
	if v, ok := s.root.get("swagger"); ok {
		if openapi {
			// Each version's schema forbids the other's field: read as
			// either, the document would be another document
			// (TestParseRefusesBothSwaggerAndOpenAPIMarkers).
			return errors.New(`both "openapi" and "swagger" are set: a document is OpenAPI 3 or Swagger 2.0, not both`)
		}
		str, _ := v.(string)
		if str != "2.0" {
			return fmt.Errorf(`unsupported Swagger version %v (want "2.0")`, v)
		}
		s.version, s.swagger2 = str, true
		return nil
	}
	v, ok := s.root.get("openapi")
	if !ok {
		return errors.New(`neither "openapi" nor "swagger" is set: not an OpenAPI or Swagger document`)
	}
	str, _ := v.(string)
	if !strings.HasPrefix(str, "3.0.") && !strings.HasPrefix(str, "3.1.") {
		return fmt.Errorf("unsupported OpenAPI version %v (want 3.0.x or 3.1.x, or Swagger 2.0)", v)
	}
	s.version = str
	return nil
}

// readBasePath returns the Swagger basePath, or the path of the first server
// URL with its variables at their defaults; "" for "/" or none.
func (s *Spec) readBasePath() (string, error) {
	var p string
	if s.swagger2 {
		p = s.root.str("basePath")
	} else {
		servers := s.root.arr("servers")
		if len(servers) == 0 {
			return "", nil
		}
		server, _ := servers[0].(*object)
		u, err := expandServerVariables(server.str("url"), server.obj("variables"))
		if err != nil {
			return "", err
		}
		p = serverPath(u)
	}
	p = strings.TrimRight(p, "/")
	if p != "" && p[0] != '/' {
		p = "/" + p
	}
	return p, nil
}

// maxServerURL bounds a server URL with its variables expanded.
const maxServerURL = 64 << 10

// expandServerVariables puts the defaults of vars in place of the
// "{name}"s of u, in one pass, as OpenAPI substitutes them: a default that
// names a variable stays as written. Expanding defaults again doubled the
// URL at every level of defaults naming the next one twice (an 861-byte
// spec made a 20 MB base path, 32 levels 20 GB).
func expandServerVariables(u string, vars *object) (string, error) {
	if vars.len() == 0 || !strings.Contains(u, "{") {
		return u, nil
	}
	var b strings.Builder
	for u != "" {
		open := strings.IndexByte(u, '{')
		end := -1
		if open >= 0 {
			end = strings.IndexByte(u[open:], '}')
		}
		if end < 0 {
			b.WriteString(u)
			break
		}
		b.WriteString(u[:open])
		if v, ok := vars.get(u[open+1 : open+end]); ok {
			o, _ := v.(*object)
			b.WriteString(o.str("default"))
		} else {
			b.WriteString(u[open : open+end+1])
		}
		u = u[open+end+1:]
		if b.Len() > maxServerURL {
			break
		}
	}
	if b.Len() > maxServerURL {
		return "", fmt.Errorf("servers[0].url is longer than %d KiB with its variables at their defaults: give a shorter URL or defaults", maxServerURL>>10)
	}
	return b.String(), nil
}

// serverPath returns the path part of an absolute or relative server URL.
func serverPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			return u[j:]
		}
		return ""
	}
	if strings.HasPrefix(u, "//") { // scheme-relative
		u = u[2:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			return u[j:]
		}
		return ""
	}
	return u
}

func (s *Spec) readOperations() []Operation {
	paths := s.root.obj("paths")
	refs := s.newRefs()
	var ops []Operation
	for _, p := range paths.names() {
		item := refs.resolve(paths.vals[p])
		for _, m := range methods {
			op := refs.resolve(item.obj(m))
			if op == nil {
				continue
			}
			o := Operation{
				Method:  strings.ToUpper(m),
				Path:    p,
				ID:      op.str("operationId"),
				Summary: op.str("summary"),
			}
			for _, t := range op.arr("tags") {
				if t, ok := t.(string); ok {
					o.Tags = append(o.Tags, t)
				}
			}
			ops = append(ops, o)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops
}

func (s *Spec) schemeDefinitions() *object {
	if s.swagger2 {
		return s.root.obj("securityDefinitions")
	}
	return s.root.obj("components").obj("securitySchemes")
}

// requirementNames returns the scheme names of a security requirement list,
// in order, appended to names unless already there.
func requirementNames(names []string, reqs []any) []string {
	for _, r := range reqs {
		req, _ := r.(*object)
		if req == nil {
			continue
		}
		for _, name := range req.keys {
			if !contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (s *Spec) readSecuritySchemes() []SecurityScheme {
	refs := s.newRefs()
	names := requirementNames(nil, s.root.arr("security"))
	if len(names) == 0 {
		paths := s.root.obj("paths")
		for _, op := range s.ops {
			o := refs.resolve(refs.resolve(paths.vals[op.Path]).obj(strings.ToLower(op.Method)))
			names = requirementNames(names, o.arr("security"))
		}
	}
	defs := s.schemeDefinitions()
	var out []SecurityScheme
	for _, name := range names {
		d := refs.resolve(defs.obj(name))
		if d == nil {
			continue // the validator let it through; nothing to describe
		}
		out = append(out, SecurityScheme{
			Name:             name,
			Type:             d.str("type"),
			In:               d.str("in"),
			ParamName:        d.str("name"),
			Scheme:           strings.ToLower(d.str("scheme")),
			OpenIDConnectURL: d.str("openIdConnectUrl"),
		})
	}
	return out
}

// Version returns the declared version: "2.0", "3.0.3", "3.1.1"...
func (s *Spec) Version() string { return s.version }

// Title returns info.title.
func (s *Spec) Title() string { return s.title }

// Description returns info.description.
func (s *Spec) Description() string { return s.description }

// JSON returns the whole document as JSON (YAML converted). The caller must
// not modify it.
func (s *Spec) JSON() []byte { return s.json }

// BasePath returns the Swagger basePath, or the path part of the first
// server URL; "" for "/" or none. It has no trailing slash.
func (s *Spec) BasePath() string { return s.basePath }

// Operations returns every operation, sorted by Path then Method.
func (s *Spec) Operations() []Operation {
	out := make([]Operation, len(s.ops))
	copy(out, s.ops)
	return out
}

// SecuritySchemes returns the schemes that the document's security
// requirements use: the global ones, or else those of any operation, in the
// order they are first named.
func (s *Spec) SecuritySchemes() []SecurityScheme {
	out := make([]SecurityScheme, len(s.schemes))
	copy(out, s.schemes)
	return out
}
