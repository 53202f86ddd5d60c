package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/redact"
)

// A policy's configuration may hold credentials of its own: the client
// secret of token_introspection, the private keys tls and upstream_mtls
// embed, a password in a URL, the Authorization value the headers policy
// sets. An export without secrets writes SecretPlaceholder in place of each
// (redact.Config: the rules the console and apply plans use; a URL keeps
// its shape, its password and secret query values shown as "xxxxx"), and
// an apply or import puts back, field by field, the value home holds for
// the same policy of the same service. A hidden value home cannot match is
// refused, never stored: a gateway would send the placeholder as a secret.

// SecretPlaceholder stands, in an export without secrets, for each value of
// a policy's configuration that is a credential.
const SecretPlaceholder = "(hidden: exported without secrets)"

// maskedURLMark is what redact.URLMasked writes in place of a URL's
// password or secret query value.
const maskedURLMark = "xxxxx"

// HidePolicySecrets returns a policy configuration with SecretPlaceholder in
// place of each credential and the passwords of its URLs masked. A
// configuration without any is returned as it came; one that is not JSON
// is none (nil): what it holds cannot be told apart.
func HidePolicySecrets(config json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(config)) == 0 {
		return config
	}
	v, err := decodeJSONValue(config)
	if err != nil {
		return nil
	}
	hidden := hideConfig(v)
	if sameValue(hidden, v) {
		return config
	}
	return encodeConfig(hidden)
}

// hideConfig is v with its secrets hidden as an export writes them.
func hideConfig(v any) any {
	hide := func(any) any { return SecretPlaceholder }
	return keepNamingKeys(v, redact.Config(v, hide), hide)
}

// keepNamingKeys returns hidden, v as redact.Config hid it, with each "key"
// of a stock APIcast policy that names something judged by its own value:
// a rate limiter's counter key ({name, name_type, scope}) and a logging
// JSON field's name ({key, value, value_type}). "key" hides all beneath it,
// yet neither is a credential, and an export a new home refused for them
// would not be portable. Their values still hide a credential-shaped
// string (a bearer token, a URL's password).
func keepNamingKeys(v, hidden any, hide func(any) any) any {
	switch t := v.(type) {
	case map[string]any:
		h, ok := hidden.(map[string]any)
		if !ok {
			return hidden
		}
		for k, e := range t {
			switch {
			case k == "key" && (counterKey(e) || logFieldName(t, e)):
				h[k] = redact.Config(e, hide)
			case !redact.SecretName(k): // under a secret's name, all stays hidden
				h[k] = keepNamingKeys(e, h[k], hide)
			}
		}
		return h
	case []any:
		h, ok := hidden.([]any)
		if !ok || len(h) != len(t) {
			return hidden
		}
		for i, e := range t {
			h[i] = keepNamingKeys(e, h[i], hide)
		}
		return h
	}
	return hidden
}

// counterKey reports whether v is a rate limiter's counter key: an object
// of strings with a name and no field but name, name_type and scope.
func counterKey(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if _, named := m["name"]; !named {
		return false
	}
	for k, e := range m {
		if _, isString := e.(string); !isString || (k != "name" && k != "name_type" && k != "scope") {
			return false
		}
	}
	return true
}

// logFieldName reports whether key, the string at "key" of entry, names a
// field of the logging policy's json_object_config: an entry of strings
// with no field but key, value and value_type.
func logFieldName(entry map[string]any, key any) bool {
	if _, isString := key.(string); !isString {
		return false
	}
	if _, typed := entry["value_type"]; !typed {
		return false
	}
	for k, e := range entry {
		if _, isString := e.(string); !isString || (k != "key" && k != "value" && k != "value_type") {
			return false
		}
	}
	return true
}

// RestoreChainSecrets puts back in chain, a service's policy chain as a
// document gives it, each hidden value (SecretPlaceholder, a masked URL)
// from home's chain of the same service: the policy at the same place with
// the same name, else the nth of that name. A hidden value it cannot match
// is an error naming the service, the policy and the field. chain's
// configurations are replaced, never written into.
func RestoreChainSecrets(service string, chain, home []composition.PolicyConfig) error {
	for i := range chain {
		p := &chain[i]
		var stored json.RawMessage
		if h, ok := matchPolicy(chain, home, i); ok {
			stored = h.Configuration
		}
		restored, err := RestorePolicySecrets(p.Configuration, stored)
		if err != nil {
			return fmt.Errorf("service %s, policy %s (policy_chain[%d]): %w", service, p.Name, i, err)
		}
		p.Configuration = restored
	}
	return nil
}

// CheckChainSecrets is RestoreChainSecrets for a document that says it
// holds its secrets (a composition document written by an export with
// secrets, "secrets": true): every value is taken as written, "xxxxx" in a
// URL being a password like any other, and nothing is put back from home,
// so that such a document is never altered. Only SecretPlaceholder, which
// no export with secrets writes, is refused: a gateway would send it as
// the secret.
func CheckChainSecrets(service string, chain []composition.PolicyConfig) error {
	for i, p := range chain {
		if !bytes.Contains(p.Configuration, []byte(SecretPlaceholder)) {
			continue
		}
		v, err := decodeJSONValue(p.Configuration)
		if err != nil {
			continue // not JSON: validation names it
		}
		if path, found := findPlaceholder(v, ""); found {
			return fmt.Errorf("service %s, policy %s (policy_chain[%d]): field %s holds %q, yet the document says it holds its secrets (\"secrets\": true): "+
				"write the value in, or apply an export without secrets to keep home's", service, p.Name, i, fieldName(path), SecretPlaceholder)
		}
	}
	return nil
}

// HiddenPolicySecret returns the field of config, a policy configuration,
// that holds the first value an export without secrets hid
// (SecretPlaceholder, or a URL masked with "xxxxx"), keys in order: what a
// home that cannot put its own value back would store as the secret.
func HiddenPolicySecret(config json.RawMessage) (field string, ok bool) {
	if !mayHoldHidden(config) {
		return "", false
	}
	v, err := decodeJSONValue(config)
	if err != nil {
		return "", false
	}
	path, ok := findString(v, "", hiddenValue)
	return fieldName(path), ok
}

// PlaceholderField is HiddenPolicySecret for a document that holds its
// secrets ("secrets": true), where "xxxxx" in a URL is a password: the
// field of config holding SecretPlaceholder, keys in order.
func PlaceholderField(config json.RawMessage) (field string, ok bool) {
	if !bytes.Contains(config, []byte(SecretPlaceholder)) {
		return "", false
	}
	v, err := decodeJSONValue(config)
	if err != nil {
		return "", false
	}
	path, ok := findPlaceholder(v, "")
	return fieldName(path), ok
}

// findPlaceholder returns the path of the first SecretPlaceholder in v.
func findPlaceholder(v any, path string) (string, bool) {
	return findString(v, path, func(s string) bool { return s == SecretPlaceholder })
}

// findString returns the path of the first string of v that is, keys in
// order.
func findString(v any, path string, is func(string) bool) (string, bool) {
	switch t := v.(type) {
	case string:
		return path, is(t)
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if p, ok := findString(t[k], path+"."+k, is); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range t {
			if p, ok := findString(e, path+"["+strconv.Itoa(i)+"]", is); ok {
				return p, true
			}
		}
	}
	return "", false
}

// matchPolicy returns home's policy for chain[i]: home's at i when it has
// the same name, else home's nth of that name where chain[i] is chain's nth.
func matchPolicy(chain, home []composition.PolicyConfig, i int) (composition.PolicyConfig, bool) {
	name := chain[i].Name
	if i < len(home) && home[i].Name == name {
		return home[i], true
	}
	nth := 0
	for _, p := range chain[:i] {
		if p.Name == name {
			nth++
		}
	}
	for _, h := range home {
		if h.Name != name {
			continue
		}
		if nth == 0 {
			return h, true
		}
		nth--
	}
	return composition.PolicyConfig{}, false
}

// RestorePolicySecrets returns config with each hidden value replaced by
// stored's at the same place (object keys, array positions; an entry of an
// array matched only when its other fields are stored's): stored's bytes
// whole when the result means what stored does, so that an export applied
// back changes nothing. A hidden value stored has no match for is an error
// naming the field. stored may be nil (home holds no such policy).
func RestorePolicySecrets(config, stored json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(config)) == 0 || !mayHoldHidden(config) {
		return config, nil
	}
	v, err := decodeJSONValue(config)
	if err != nil {
		return config, nil // not JSON: validation names it
	}
	var s, m any
	if len(bytes.TrimSpace(stored)) > 0 {
		if s, err = decodeJSONValue(stored); err == nil {
			m = hideConfig(s)
		}
	}
	r := &restorer{}
	out, err := r.value(v, s, m, "")
	if err != nil {
		return nil, err
	}
	if !r.changed {
		return config, nil
	}
	if sameValue(out, s) {
		return stored, nil
	}
	return encodeConfig(out), nil
}

// mayHoldHidden is a cheap test that raw may hold a hidden value, so that
// configurations without any are not decoded.
func mayHoldHidden(raw json.RawMessage) bool {
	return bytes.Contains(raw, []byte(SecretPlaceholder)) || bytes.Contains(raw, []byte(maskedURLMark))
}

// restorer walks a document's configuration beside home's and home's as
// exported.
type restorer struct{ changed bool }

// value restores d, a document's value at path, from s, home's value there,
// and m, s as an export without secrets writes it (nil when home has none).
func (r *restorer) value(d, s, m any, path string) (any, error) {
	switch t := d.(type) {
	case string:
		if ms, ok := m.(string); ok && ms == t && !sameValue(s, d) {
			r.changed = true
			return s, nil
		}
		if hiddenValue(t) {
			return nil, fmt.Errorf("field %s holds a secret hidden by an export without secrets, and home holds no value of that policy to keep: "+
				"write the value in, or export with --include-secrets", fieldName(path))
		}
		return t, nil
	case map[string]any:
		sm, _ := s.(map[string]any)
		mm, _ := m.(map[string]any)
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) { // the first refusal is the same at every run
			n, err := r.value(t[k], sm[k], mm[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		sa, _ := s.([]any)
		ma, _ := m.([]any)
		out := make([]any, len(t))
		for i, e := range t {
			var se, me any
			if i < len(sa) && i < len(ma) && sameEntry(e, ma[i]) {
				se, me = sa[i], ma[i]
			}
			n, err := r.value(e, se, me, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	default:
		return d, nil
	}
}

// sameEntry reports whether d, an array entry of a document, is home's
// entry m (as exported) at the same place: an object whose fields that are
// neither hidden nor objects or arrays are m's, so that a header's value is
// never put under another header. An entry of another type matches by place.
func sameEntry(d, m any) bool {
	dm, ok := d.(map[string]any)
	if !ok {
		return true
	}
	mm, ok := m.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range dm {
		switch t := v.(type) {
		case map[string]any, []any:
			continue
		case string:
			if hiddenValue(t) {
				if _, ok := mm[k]; !ok {
					return false
				}
				continue
			}
		}
		if !sameValue(v, mm[k]) {
			return false
		}
	}
	return true
}

// hiddenValue reports whether s is what an export without secrets writes in
// place of a secret: SecretPlaceholder, or a URL masked by redact.URLMasked
// (its "xxxxx" exactly where the mask goes: masked again with anything else
// there, "xxxxx" comes back).
func hiddenValue(s string) bool {
	if s == SecretPlaceholder {
		return true
	}
	if !strings.Contains(s, "://") || !strings.Contains(s, maskedURLMark) {
		return false
	}
	return strings.Contains(redact.URLMasked(strings.ReplaceAll(s, maskedURLMark, "probe")), maskedURLMark)
}

// fieldName is a configuration path as an error names it.
func fieldName(path string) string {
	if name, ok := strings.CutPrefix(path, "."); ok {
		return name
	}
	if path == "" {
		return "configuration"
	}
	return path
}

// encodeConfig writes a decoded configuration back, "<" and "&" as written.
func encodeConfig(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("manifest: encode decoded JSON: " + err.Error()) // decoded JSON always encodes
	}
	return bytes.TrimSpace(buf.Bytes())
}
