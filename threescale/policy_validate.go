package threescale

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/portolan/portolan/composition"
)

// A policy chain is checked when it is saved: each enabled policy's
// configuration against the JSON schema of its manifest (APIcast's
// built-in manifests, compiled once when they are loaded, or the custom
// policy's of the registry), or, when the coordinator has no manifests,
// by the check it is given (the gateway's own factories, so home refuses a
// chain with the words the gateway would fail closed with). A refusal is
// 3scale's 422 on policies_config, naming the policy, its element and the
// field:
//
//	policy "ip_check" (element 0 of the chain): configuration.check_type: must be one of blacklist, whitelist, not "greylist"
//
// As porta's Proxy::PoliciesConfig, a policy known neither to the
// manifests nor to the registry is stored unchecked: 3scale validates a
// chain's structure (name, version, a configuration object), not which
// policies exist. The gateway refuses such a policy when it loads the
// chain (fail closed), as APIcast cannot load it either.

// PolicyCheck checks a chain's configurations where no manifest does; its
// error joins one error per element at fault (errors.Join), each naming
// the policy, its element and the field.
type PolicyCheck func(chain []composition.PolicyConfig) error

// SetPolicyCheck sets the check of policy configurations used when the
// coordinator has no APIcast manifests. Call it before the API serves.
func (a *API) SetPolicyCheck(check PolicyCheck) { a.schemas.fallback = check }

// maxCustomSchemas bounds the compiled schemas of registry policies kept.
const maxCustomSchemas = 1024

// policySchemas holds the compiled configuration schemas.
type policySchemas struct {
	builtin  map[string]map[string]*jsonschema.Schema // name → version → schema; nil without manifests
	fallback PolicyCheck

	mu     sync.Mutex
	custom map[[sha256.Size]byte]*jsonschema.Schema // by the registry schema's digest; nil: not a schema
}

// compileBuiltin compiles the configuration schema of every manifest of p.
func compileBuiltin(p *BuiltinPolicies) (map[string]map[string]*jsonschema.Schema, error) {
	out := map[string]map[string]*jsonschema.Schema{}
	for _, name := range p.names {
		for _, m := range p.manifests[name] {
			sch, version, err := compileManifest(m)
			if err != nil {
				return nil, fmt.Errorf("policy %q: %w", name, err)
			}
			if sch == nil {
				continue
			}
			if out[name] == nil {
				out[name] = map[string]*jsonschema.Schema{}
			}
			out[name][version] = sch
		}
	}
	return out, nil
}

// compileManifest compiles the configuration schema of a policy manifest;
// nil when it has none.
func compileManifest(manifest []byte) (*jsonschema.Schema, string, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifest))
	if err != nil {
		return nil, "", fmt.Errorf("manifest: %w", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, "", errors.New("manifest is not a JSON object")
	}
	version, _ := m["version"].(string)
	conf, ok := m["configuration"].(map[string]any)
	if !ok {
		return nil, version, nil
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(noSchemaLoader{})
	const url = "urn:portolan:policy-configuration"
	if err := c.AddResource(url, conf); err != nil {
		return nil, version, fmt.Errorf("configuration schema: %w", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, version, fmt.Errorf("configuration schema: %w", err)
	}
	return sch, version, nil
}

// noSchemaLoader refuses every schema a configuration schema refers to by
// URL: a manifest, a registry policy's above all, is checked with what it
// holds, never with a file of the coordinator's host (the compiler's
// default loader opens any file:// URL, and a FIFO or a pipe would block
// the store's write the check runs in) nor with a fetch.
type noSchemaLoader struct{}

func (noSchemaLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("a policy configuration schema may not refer to %s: keep its definitions in the manifest", url)
}

// customSchema is the compiled configuration schema of a registry policy,
// compiled at its first use and kept by digest; nil when it has none or it
// does not compile (3scale stores any schema).
func (s *policySchemas) customSchema(p *composition.RegistryPolicy) *jsonschema.Schema {
	sum := sha256.Sum256(p.Schema)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.custom[sum]; ok {
		return sch
	}
	sch, _, err := compileManifest(p.Schema)
	if err != nil {
		sch = nil
	}
	if s.custom == nil || len(s.custom) >= maxCustomSchemas {
		s.custom = map[[sha256.Size]byte]*jsonschema.Schema{}
	}
	s.custom[sum] = sch
	return sch
}

// customFor finds the registry policy of pc's name and version and its
// schema (nil when it has none that compiles).
func (s *policySchemas) customFor(c *composition.Composition, pc composition.PolicyConfig) (*jsonschema.Schema, bool) {
	p, ok := c.RegistryPolicies.Find(func(p *composition.RegistryPolicy) bool {
		return p.Name == pc.Name && p.Version == pc.Version
	})
	if !ok {
		return nil, false
	}
	return s.customSchema(p), true
}

// builtinFor finds the built-in manifest's schema of pc's version, else of
// its name (the gateway runs its own implementation of a name whatever the
// version); nil when APIcast has no such policy.
func (s *policySchemas) builtinFor(pc composition.PolicyConfig) *jsonschema.Schema {
	versions := s.builtin[pc.Name]
	if sch, ok := versions[pc.Version]; ok {
		return sch
	}
	return versions["builtin"]
}

// checkChain returns the problems of chain's configurations, one line per
// problem, naming the element. Registry policies are checked against their
// schema; the others against APIcast's manifests or, without them, by the
// fallback.
func (s *policySchemas) checkChain(c *composition.Composition, chain []composition.PolicyConfig) []string {
	var problems []string
	rest := slices.Clone(chain) // what the fallback checks: registry policies left out
	for i, pc := range chain {
		if !pc.Enabled || pc.Name == "apicast" {
			continue
		}
		sch, custom := s.customFor(c, pc)
		if custom {
			rest[i].Enabled = false
		} else if s.builtin == nil {
			continue
		} else {
			sch = s.builtinFor(pc)
		}
		if sch == nil {
			continue // unknown: stored unchecked, as 3scale does
		}
		problems = append(problems, validateConfig(sch, pc, i)...)
	}
	if s.builtin == nil && s.fallback != nil {
		problems = append(problems, splitErrors(s.fallback(rest))...)
	}
	return problems
}

// validateConfig checks the configuration of pc, element i, against sch.
func validateConfig(sch *jsonschema.Schema, pc composition.PolicyConfig, i int) []string {
	conf := pc.Configuration
	if len(conf) == 0 || string(conf) == "null" {
		conf = json.RawMessage(`{}`)
	}
	where := fmt.Sprintf("policy %q (element %d of the chain): ", pc.Name, i)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(conf))
	if err != nil {
		return []string{where + "configuration: not valid JSON"}
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		var out []string
		for _, p := range describe(ve) {
			out = append(out, where+p)
		}
		return out
	default:
		return []string{where + "configuration: " + err.Error()}
	}
}

func splitErrors(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// CheckPolicyChains wraps a write so that it fails, as a whole, with 422 on
// policies_config when it leaves a proxy whose policy chain it changed with
// a configuration its policy's schema refuses. Every path that stores a
// chain goes through it: the 3scale API's writes, apply, image documents
// and imports.
func (a *API) CheckPolicyChains(fn func(*composition.Tx) error) func(*composition.Tx) error {
	return func(tx *composition.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		var problems []string
		for _, ch := range tx.Changes() {
			if ch.Kind != composition.KindProxy || ch.Entity == nil {
				continue
			}
			p, ok := tx.View().Proxies.Get(ch.ID)
			if !ok {
				continue
			}
			if old, ok := tx.Base().Proxies.Get(ch.ID); ok && sameChain(old.PolicyChain, p.PolicyChain) {
				continue // unchanged: a chain stored before is not refused for another field's sake
			}
			problems = append(problems, a.schemas.checkChain(tx.View(), p.PolicyChain)...)
		}
		if len(problems) > 0 {
			return &composition.ValidationError{Fields: map[string][]string{"policies_config": problems}}
		}
		return nil
	}
}

func sameChain(a, b []composition.PolicyConfig) bool {
	return slices.EqualFunc(a, b, func(x, y composition.PolicyConfig) bool {
		return x.Name == y.Name && x.Version == y.Version && x.Enabled == y.Enabled && bytes.Equal(x.Configuration, y.Configuration)
	})
}

var printer = message.NewPrinter(language.English)

// describe turns a validation error into "configuration.<field>: <problem>"
// lines, in the words of the gateway's own checks (policy.Invalid).
func describe(e *jsonschema.ValidationError) []string {
	at := field(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		var out []string
		for _, c := range e.Causes {
			out = append(out, describe(c)...)
		}
		return out
	case *kind.OneOf, *kind.AnyOf:
		if one, ok := k.(*kind.OneOf); ok && len(one.Subschemas) > 1 {
			// Two alternatives matched: nothing is missing, one is too many.
			return []string{at + fmt.Sprintf(": matches more than one of the schema's alternatives (%d and %d): it must match exactly one",
				one.Subschemas[0]+1, one.Subschemas[1]+1)}
		}
		if want, got, ok := enumBranches(e.Causes); ok {
			return []string{at + fmt.Sprintf(": must be one of %s, not %s", strings.Join(want, ", "), got)}
		}
		if len(e.Causes) == 1 {
			return describe(e.Causes[0])
		}
		if left := undiscriminated(e.InstanceLocation, e.Causes); len(left) == 1 {
			return describe(left[0])
		}
		return []string{at + ": matches none of the schema's alternatives"}
	case *kind.Required:
		out := make([]string, 0, len(k.Missing))
		for _, m := range k.Missing {
			out = append(out, field(append(slices.Clone(e.InstanceLocation), m))+": is required")
		}
		return out
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = article(w)
		}
		return []string{at + ": must be " + strings.Join(want, " or ") + ", not " + k.Got}
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return []string{at + fmt.Sprintf(": must be one of %s, not %s", strings.Join(want, ", "), display(k.Got))}
	default:
		return []string{at + ": " + e.ErrorKind.LocalizedString(printer)}
	}
}

// enumBranches reads a oneOf whose alternatives each failed as an enum or
// const (APIcast's manifests write an enum of titled values this way).
func enumBranches(causes []*jsonschema.ValidationError) (want []string, got string, ok bool) {
	if len(causes) == 0 {
		return nil, "", false
	}
	for _, c := range causes {
		for c != nil && len(c.Causes) == 1 {
			if _, leaf := c.ErrorKind.(*kind.Enum); leaf {
				break
			}
			c = c.Causes[0]
		}
		switch k := c.ErrorKind.(type) {
		case *kind.Enum:
			for _, w := range k.Want {
				want = append(want, fmt.Sprint(w))
			}
			got = display(k.Got)
		case *kind.Const:
			want = append(want, fmt.Sprint(k.Want))
			got = display(k.Got)
		default:
			return nil, "", false
		}
	}
	return want, got, true
}

// undiscriminated leaves out the alternatives that a member's value rules
// out: those failing on an enum or const of a member of the object at loc.
// APIcast's manifests choose an alternative so ("dependencies" on
// default_credentials' auth_type or a routing operation's match), and what
// the one left lacks (user_key: is required) is the user's mistake, not
// that the others' values differ.
func undiscriminated(loc []string, causes []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	var left []*jsonschema.ValidationError
	for _, c := range causes {
		if !discriminated(len(loc)+1, c) {
			left = append(left, c)
		}
	}
	return left
}

// discriminated reports whether e holds an enum or const failure of a
// value at depth (a member of the alternatives' object). The alternatives
// of a oneOf or anyOf within are not looked into: the one they leave out
// is not what rules e's own alternative out.
func discriminated(depth int, e *jsonschema.ValidationError) bool {
	switch e.ErrorKind.(type) {
	case *kind.Enum, *kind.Const:
		return len(e.InstanceLocation) == depth
	case *kind.OneOf, *kind.AnyOf:
		return false
	}
	for _, c := range e.Causes {
		if discriminated(depth, c) {
			return true
		}
	}
	return false
}

func display(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// field is "configuration" then the instance location as the gateway
// names fields: rules[0].op.
func field(loc []string) string {
	var b strings.Builder
	b.WriteString("configuration")
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
		} else {
			b.WriteString("." + tok)
		}
	}
	return b.String()
}

func article(jsonType string) string {
	switch jsonType {
	case "array", "object", "integer":
		return "an " + jsonType
	default:
		return "a " + jsonType
	}
}
