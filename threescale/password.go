package threescale

import (
	"encoding/json"
	"strings"

	"github.com/portolan/portolan/composition"
)

// hashPasswords replaces every password the params carry ("password",
// "user[password]", ...) with its hash, before a handler binds them and
// before the store's writer lock is taken: the store never sees plaintext
// and argon2id's cost is not paid under the lock. A blank password stays
// blank, for validation to report as 3scale does.
func (p *Params) hashPasswords() error {
	for k, vs := range p.values {
		if !isPasswordKey(k) {
			continue
		}
		for i, v := range vs {
			if v == "" || composition.IsPasswordHash(v) {
				continue
			}
			h, err := composition.HashPassword(v)
			if err != nil {
				return err
			}
			vs[i] = h
		}
	}
	for k, raw := range p.raw {
		var v string
		if !isPasswordKey(k) || json.Unmarshal(raw, &v) != nil || v == "" {
			continue
		}
		if h, ok := p.Get(k); ok && composition.IsPasswordHash(h) {
			p.raw[k], _ = json.Marshal(h) // the flat view's hash, so both views agree
			continue
		}
		h, err := composition.HashPassword(v)
		if err != nil {
			return err
		}
		p.raw[k], _ = json.Marshal(h)
	}
	return nil
}

func isPasswordKey(k string) bool { return k == "password" || strings.HasSuffix(k, "[password]") }
