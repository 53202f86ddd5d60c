package coordinator

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// An export without secrets hides the credentials of policy configurations
// (manifest.HidePolicySecrets), in each proxy and in each deployed proxy
// config's content, which a stock APIcast reads; an import puts back home's
// value for each (manifest.RestoreChainSecrets) and refuses one it cannot
// match, rather than store the placeholder a gateway would send as a secret.

// hidePolicySecrets hides the policy secrets of doc, an export of copies.
func hidePolicySecrets(doc *composition.Document) {
	for _, p := range doc.Proxies {
		if p == nil {
			continue
		}
		chain := make([]composition.PolicyConfig, len(p.PolicyChain))
		for i, pc := range p.PolicyChain {
			pc.Configuration = manifest.HidePolicySecrets(pc.Configuration)
			chain[i] = pc
		}
		p.PolicyChain = chain
	}
	for _, pc := range doc.ProxyConfigs {
		if pc == nil {
			continue
		}
		if content, ok := editContentChain(pc.Content, func(chain []composition.PolicyConfig) error {
			for i := range chain {
				chain[i].Configuration = manifest.HidePolicySecrets(chain[i].Configuration)
			}
			return nil
		}); ok {
			pc.Content = content
		}
	}
}

// restorePolicySecrets returns doc with the policy secrets an export
// without secrets hid put back from cur, the composition being imported
// into: a proxy's from cur's proxy of the service of the same system_name,
// a proxy config's from cur's proxy config of that service, environment and
// version. doc is not changed: a store that runs the update again (a Consul
// CAS retry) restores from the composition it then holds.
func restorePolicySecrets(cur *composition.Composition, doc *composition.Document) (*composition.Document, error) {
	services := map[int64]string{}
	for _, s := range doc.Services {
		if s != nil {
			services[s.ID] = s.SystemName
		}
	}
	held := func(serviceID int64) (string, *composition.Service) {
		name := services[serviceID]
		s, ok := cur.ServiceBySystemName(name)
		if name == "" || !ok {
			return name, nil
		}
		return name, s
	}
	out := *doc
	out.Proxies = make([]*composition.Proxy, len(doc.Proxies))
	for i, p := range doc.Proxies {
		out.Proxies[i] = p
		if p == nil {
			continue
		}
		name, s := held(p.ServiceID)
		var home []composition.PolicyConfig
		if s != nil {
			if hp, ok := cur.Proxies.Get(s.ID); ok {
				home = hp.PolicyChain
			}
		}
		n := *p
		n.PolicyChain = append([]composition.PolicyConfig(nil), p.PolicyChain...)
		if err := manifest.RestoreChainSecrets(serviceName(name, p.ServiceID), n.PolicyChain, home); err != nil {
			return nil, composition.Invalid("policy_chain", err.Error())
		}
		out.Proxies[i] = &n
	}
	out.ProxyConfigs = make([]*composition.ProxyConfig, len(doc.ProxyConfigs))
	for i, pc := range doc.ProxyConfigs {
		out.ProxyConfigs[i] = pc
		if pc == nil {
			continue
		}
		name, s := held(pc.ServiceID)
		var home []composition.PolicyConfig
		if s != nil {
			for _, h := range cur.ProxyConfigs.Filter(func(h *composition.ProxyConfig) bool {
				return h.ServiceID == s.ID && h.Environment == pc.Environment && h.Version == pc.Version
			}) {
				home, _ = contentChain(h.Content)
			}
		}
		var err error
		content, ok := editContentChain(pc.Content, func(chain []composition.PolicyConfig) error {
			err = manifest.RestoreChainSecrets(serviceName(name, pc.ServiceID), chain, home)
			return err
		})
		if err != nil {
			return nil, composition.Invalid("proxy_configs", fmt.Sprintf("%s proxy config version %d: %v", pc.Environment, pc.Version, err))
		}
		if ok {
			n := *pc
			n.Content = content
			out.ProxyConfigs[i] = &n
		}
	}
	return &out, nil
}

// serviceName names a service in an error: by system_name, by the
// document's id when the document does not name it.
func serviceName(name string, id int64) string {
	if name == "" {
		return fmt.Sprintf("(id %d)", id)
	}
	return name
}

// contentChain reads a proxy config content's policy chain
// ({"proxy":{"policy_chain":[...]}}), as editContentChain does.
func contentChain(content json.RawMessage) ([]composition.PolicyConfig, bool) {
	_, chain, ok := readContentChain(content)
	return chain, ok
}

// readContentChain returns the entries of a proxy config content's policy
// chain and each as a policy: its name and configuration, none for an
// entry that is no object (a stray value no gateway reads as a policy), so
// that it hides nothing of its neighbours.
func readContentChain(content json.RawMessage) ([]json.RawMessage, []composition.PolicyConfig, bool) {
	var top struct {
		Proxy struct {
			PolicyChain []json.RawMessage `json:"policy_chain"`
		} `json:"proxy"`
	}
	if json.Unmarshal(content, &top) != nil {
		return nil, nil, false
	}
	entries := top.Proxy.PolicyChain
	chain := make([]composition.PolicyConfig, len(entries))
	for i, e := range entries {
		var pc struct {
			Name          json.RawMessage `json:"name"`
			Configuration json.RawMessage `json:"configuration"`
		}
		if json.Unmarshal(e, &pc) != nil {
			continue
		}
		_ = json.Unmarshal(pc.Name, &chain[i].Name) // a name that is no string matches no policy
		chain[i].Configuration = pc.Configuration
	}
	return entries, chain, true
}

// editContentChain returns content with the configurations of its policy
// chain as edit leaves them, and whether it changed any. Only those bytes
// change, every key keeping its place, so that an import matches a
// restored config to home's by content. A content it cannot read is left
// as it is: validation refuses it.
func editContentChain(content json.RawMessage, edit func([]composition.PolicyConfig) error) (json.RawMessage, bool) {
	entries, chain, ok := readContentChain(content)
	if !ok || len(entries) == 0 {
		return content, false
	}
	before := make([]json.RawMessage, len(chain))
	for i := range chain {
		before[i] = chain[i].Configuration
	}
	if edit(chain) != nil {
		return content, false
	}
	changed := false
	for i := range entries {
		if string(chain[i].Configuration) == string(before[i]) {
			continue
		}
		e, err := setKey(entries[i], "configuration", chain[i].Configuration)
		if err != nil {
			return content, false
		}
		entries[i], changed = e, true
	}
	if !changed {
		return content, false
	}
	proxy, err := getKey(content, "proxy")
	if err != nil {
		return content, false
	}
	if proxy, err = setKey(proxy, "policy_chain", mustJSON(entries)); err != nil {
		return content, false
	}
	out, err := setKey(content, "proxy", proxy)
	if err != nil {
		return content, false
	}
	return out, true
}

// getKey returns the value of key in the JSON object obj.
func getKey(obj json.RawMessage, key string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	return m[key], nil
}

// setKey returns the JSON object obj with val as the value of key, its
// keys in their order (key last when obj has none).
func setKey(obj json.RawMessage, key string, val json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	if len(val) == 0 {
		val = json.RawMessage("null")
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if k == key {
			v, found = val, true
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(mustJSON(k))
		buf.WriteByte(':')
		buf.Write(v)
	}
	if !found {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(mustJSON(key))
		buf.WriteByte(':')
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// mustJSON encodes what was just decoded from JSON, or a string.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("coordinator: encode decoded JSON: " + err.Error())
	}
	return b
}
