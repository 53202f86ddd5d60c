package threescale

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/atomicfile"
)

// APIcast's built-in policies: what GET /admin/api/policies.json lists, as
// 3scale's Policies::PoliciesListService does, APIcast's own registry (its
// GET /policies) merged with the custom policies of the policy registry
// (policies.go): {"<name>":[<manifest>,...],...}, each manifest once. 3scale
// asks a running APIcast; Portolan reads APIcast's manifests from a folder
// once, at start (SetAPIcastPolicies).

// maxPoliciesFile bounds a manifest file read at start.
const maxPoliciesFile = 16 << 20

// BuiltinPolicies is APIcast's policy registry: each policy's manifests by
// name, names in APIcast's order.
type BuiltinPolicies struct {
	names     []string
	manifests map[string][]json.RawMessage // compacted
}

// LoadBuiltinPolicies reads APIcast's built-in policies from dir: its
// policies.json, APIcast's answer to GET /policies
// ({"policies":{"<name>":[<manifest>,...]}}), or else the manifests of
// APIcast's source tree, <name>/<version>/apicast-policy.json.
func LoadBuiltinPolicies(dir string) (*BuiltinPolicies, error) {
	file := filepath.Join(dir, "policies.json")
	b, err := atomicfile.ReadBounded(file, maxPoliciesFile)
	if errors.Is(err, os.ErrNotExist) {
		return loadPolicyManifests(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read APIcast policies: %w", err)
	}
	var top struct {
		Policies json.RawMessage `json:"policies"`
	}
	if err := json.Unmarshal(b, &top); err != nil || jsonValueKind(top.Policies) != '{' {
		return nil, fmt.Errorf("%s is not APIcast's policy list ({\"policies\":{...}}): %v", file, err)
	}
	p := &BuiltinPolicies{manifests: map[string][]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(top.Policies))
	if _, err := dec.Token(); err != nil { // {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		name, _ := tok.(string)
		var list []json.RawMessage
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("%s: policy %q is not a list of manifests: %w", file, name, err)
		}
		for _, m := range list {
			if err := p.add(name, m); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	return p, nil
}

// loadPolicyManifests reads dir/<name>/<version>/apicast-policy.json.
func loadPolicyManifests(dir string) (*BuiltinPolicies, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*", "apicast-policy.json"))
	if err != nil {
		return nil, fmt.Errorf("find APIcast policy manifests: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no APIcast policy manifests in %s (policies.json or <name>/<version>/apicast-policy.json)", dir)
	}
	slices.Sort(files)
	p := &BuiltinPolicies{manifests: map[string][]json.RawMessage{}}
	for _, f := range files {
		b, err := atomicfile.ReadBounded(f, maxPoliciesFile)
		if err != nil {
			return nil, fmt.Errorf("read APIcast policy manifest: %w", err)
		}
		if err := p.add(filepath.Base(filepath.Dir(filepath.Dir(f))), b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return p, nil
}

// add appends manifest m to policy name unless it is there already.
func (p *BuiltinPolicies) add(name string, m json.RawMessage) error {
	if jsonValueKind(m) != '{' {
		return fmt.Errorf("a manifest of policy %q is not a JSON object", name)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		return fmt.Errorf("policy %q: %w", name, err)
	}
	list, seen := p.manifests[name]
	if !seen {
		p.names = append(p.names, name)
	}
	for _, have := range list {
		if sameJSON(have, buf.Bytes()) {
			return nil
		}
	}
	p.manifests[name] = append(list, buf.Bytes())
	return nil
}

// Len is how many policies there are.
func (p *BuiltinPolicies) Len() int { return len(p.names) }

// sameJSON reports whether a and b hold the same JSON value, whatever the
// order of their members: as 3scale's set of manifests compares them.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

// apicastPolicies is what SetAPIcastPolicies loaded, or why it did not.
type apicastPolicies struct {
	list *BuiltinPolicies
	err  string // what the 503 says when list is nil
}

// SetAPIcastPolicies loads APIcast's built-in policies from dir and logs
// where it looked when they are not there; GET /admin/api/policies.json then
// answers 503 saying so. Call it before the API serves.
func (a *API) SetAPIcastPolicies(dir string, log zerolog.Logger) {
	const route = "GET /admin/api/policies.json answers 503"
	if dir == "" {
		a.builtin.err = "no APIcast policy manifests configured: start the coordinator with --apicast-policies"
		log.Info().Msg("no --apicast-policies: " + route)
		return
	}
	p, err := LoadBuiltinPolicies(dir)
	if err != nil {
		a.builtin.err = "APIcast's built-in policies are not available: the coordinator found no policy manifests (see its log, --apicast-policies)"
		abs, _ := filepath.Abs(dir)
		log.Warn().Err(err).Str("looked_in", abs).Msg("APIcast policy manifests not loaded: " + route)
		return
	}
	a.builtin = apicastPolicies{list: p}
	if a.schemas.builtin, err = compileBuiltin(p); err != nil {
		log.Warn().Err(err).Str("dir", dir).Msg("APIcast policy schemas not compiled: chains are checked by the gateway's own rules")
	}
	log.Debug().Str("dir", dir).Int("policies", p.Len()).Msg("APIcast policy manifests loaded")
}

func (a *API) builtinPolicyRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/admin/api/policies", Tag: "APIcast Policies", Summary: "APIcast Policy Registry", handle: listBuiltinPolicies},
	}
}

// listBuiltinPolicies answers APIcast's policies merged with the registry's.
func listBuiltinPolicies(c *call) error {
	builtin := c.api.builtin.list
	if builtin == nil {
		msg := c.api.builtin.err
		if msg == "" {
			msg = "no APIcast policy manifests configured: start the coordinator with --apicast-policies"
		}
		Write(c.w, c.format, http.StatusServiceUnavailable, func(w io.Writer) error {
			return writeErrorBody(w, c.format, http.StatusServiceUnavailable, msg)
		})
		return nil
	}
	all := &BuiltinPolicies{names: slices.Clone(builtin.names), manifests: make(map[string][]json.RawMessage, len(builtin.manifests))}
	for name, list := range builtin.manifests {
		all.manifests[name] = slices.Clip(list) // an append copies
	}
	for _, p := range c.snapshot().RegistryPolicies.All() {
		_ = all.add(p.Name, p.Schema) // fails on no JSON object, which the registry never holds
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range all.names {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, name)
		buf.WriteString(":[")
		for j, m := range all.manifests[name] {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.Write(m)
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	Write(c.w, c.format, http.StatusOK, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err })
	return nil
}
