package coordinator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/portolan/portolan/composition"
)

// A deployed proxy config's content is the proxy as APIcast reads it:
// {"proxy":{"policy_chain":[{"name":…,"configuration":…}]}}. APIcast reads
// those keys exactly, encoding/json (and so any Go reader of the content)
// in any case, and a hand-written content may hold both. An export without
// secrets must hide what either would read, and an import put each value
// back under the key it came from: so the content is read along every
// spelling of the three keys it holds (chainPath), each spelling a chain of
// its own, and each read and written by exact key.

// chainPath is one spelling of the keys that lead to a content's policy
// configurations.
type chainPath struct{ proxy, chain, config string }

// readContentChain returns the entries of content's policy chain at path,
// and each as a policy: its name and its configuration under path.config,
// none for an entry that is no object (a stray value no gateway reads as a
// policy), so that it hides nothing of its neighbours. ok is false when
// content holds no chain at path.
func readContentChain(content json.RawMessage, path chainPath) (entries []json.RawMessage, chain []composition.PolicyConfig, ok bool) {
	proxy, err := getKey(content, path.proxy)
	if err != nil || proxy == nil {
		return nil, nil, false
	}
	raw, err := getKey(proxy, path.chain)
	if err != nil || json.Unmarshal(raw, &entries) != nil || entries == nil {
		return nil, nil, false
	}
	chain = make([]composition.PolicyConfig, len(entries))
	for i, e := range entries {
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) != nil {
			continue
		}
		_ = json.Unmarshal(m["name"], &chain[i].Name) // a name that is no string matches no policy
		chain[i].Configuration = m[path.config]
	}
	return entries, chain, true
}

// chainPaths lists the spellings of the keys to the policy configurations
// that content holds, in order (the gateway's first when held).
func chainPaths(content json.RawMessage) []chainPath {
	var paths []chainPath
	for _, p := range keysLike(content, "proxy") {
		proxy, _ := getKey(content, p)
		for _, c := range keysLike(proxy, "policy_chain") {
			raw, _ := getKey(proxy, c)
			var entries []json.RawMessage
			if json.Unmarshal(raw, &entries) != nil {
				continue
			}
			configs := map[string]bool{}
			for _, e := range entries {
				for _, f := range keysLike(e, "configuration") {
					configs[f] = true
				}
			}
			for _, f := range slices.Sorted(maps.Keys(configs)) {
				paths = append(paths, chainPath{proxy: p, chain: c, config: f})
			}
		}
	}
	return paths
}

// withoutDuplicateChainKeys returns content with each key on the way to
// its policy configurations (any spelling of the three) that one object
// holds twice given its last value, the one hidden, in every place:
// readers differ on which they take (encoding/json merges two objects of
// one key), so an export without secrets leaves no earlier copy in clear.
// content itself when it holds none.
func withoutDuplicateChainKeys(content json.RawMessage) json.RawMessage {
	out := unifyKeysLike(content, "proxy")
	for _, p := range keysLike(out, "proxy") {
		proxy, _ := getKey(out, p)
		next := unifyKeysLike(proxy, "policy_chain")
		for _, c := range keysLike(next, "policy_chain") {
			raw, _ := getKey(next, c)
			var entries []json.RawMessage
			if json.Unmarshal(raw, &entries) != nil {
				continue
			}
			changed := false
			for i, e := range entries {
				if u := unifyKeysLike(e, "configuration"); !bytes.Equal(u, e) {
					entries[i], changed = u, true
				}
			}
			if changed {
				next = setKeyOr(next, c, mustJSON(entries))
			}
		}
		if !bytes.Equal(next, proxy) {
			out = setKeyOr(out, p, next)
		}
	}
	return out
}

// unifyKeysLike returns the JSON object obj with each key that is key in
// any case and that it holds more than once set, in every place, to its
// last value; obj itself when it holds none twice or is no object.
func unifyKeysLike(obj json.RawMessage, key string) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return obj
	}
	seen := map[string]int{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return obj
		}
		if k, _ := t.(string); strings.EqualFold(k, key) {
			seen[k]++
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return obj
		}
	}
	out := obj
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		if seen[k] > 1 {
			last, _ := getKey(out, k)
			out = setKeyOr(out, k, last)
		}
	}
	return out
}

// setKeyOr is setKey, obj as it is when it cannot (obj was just read as an
// object, so it can).
func setKeyOr(obj json.RawMessage, key string, val json.RawMessage) json.RawMessage {
	out, err := setKey(obj, key, val)
	if err != nil {
		return obj
	}
	return out
}

// keysLike returns the keys of the JSON object obj that are key in any
// case, sorted (an exact "key" sorts before its other spellings, which
// hold a capital); none when obj is no object.
func keysLike(obj json.RawMessage, key string) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	var out []string
	for k := range m {
		if strings.EqualFold(k, key) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// editContentChain returns content with the configurations of its policy
// chain, along each of its spellings, as edit leaves them, and whether it
// changed any. Only those bytes change, every key keeping its place, so
// that an import matches a restored config to home's by content. A
// content it cannot read is left as it is (validation refuses one that is
// no JSON), and so is all of it when edit fails.
func editContentChain(content json.RawMessage, edit func(at chainPath, chain []composition.PolicyConfig) error) (json.RawMessage, bool) {
	out, changed := content, false
	for _, path := range chainPaths(content) {
		next, ok, err := editChainAt(out, path, edit)
		if err != nil {
			return content, false
		}
		if ok {
			out, changed = next, true
		}
	}
	return out, changed
}

// editChainAt is editContentChain along one path.
func editChainAt(content json.RawMessage, path chainPath, edit func(chainPath, []composition.PolicyConfig) error) (json.RawMessage, bool, error) {
	entries, chain, ok := readContentChain(content, path)
	if !ok || len(entries) == 0 {
		return content, false, nil
	}
	before := make([]json.RawMessage, len(chain))
	for i := range chain {
		before[i] = chain[i].Configuration
	}
	if err := edit(path, chain); err != nil {
		return nil, false, err
	}
	changed := false
	for i := range entries {
		if string(chain[i].Configuration) == string(before[i]) {
			continue
		}
		e, err := setKey(entries[i], path.config, chain[i].Configuration)
		if err != nil {
			return nil, false, err
		}
		entries[i], changed = e, true
	}
	if !changed {
		return content, false, nil
	}
	proxy, err := getKey(content, path.proxy)
	if err != nil {
		return nil, false, err
	}
	if proxy, err = setKey(proxy, path.chain, mustJSON(entries)); err != nil {
		return nil, false, err
	}
	out, err := setKey(content, path.proxy, proxy)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// getKey returns the value of key, exactly, in the JSON object obj (the
// last, as encoding/json reads it, when obj holds key twice).
func getKey(obj json.RawMessage, key string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	return m[key], nil
}

// setKey returns the JSON object obj with val as the value of key, exactly
// (of each, when obj holds key twice), its keys in their order (key last
// when obj has none).
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
