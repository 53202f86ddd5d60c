package threescale

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/portolan/portolan/composition"
)

// maxPasswords bounds the distinct passwords one request may carry: each
// costs an argon2id hash (19 MiB, two passes), so a body repeating
// password=x thousands of times must be refused, not hashed thousands of
// times. A signup or a user update sends one (perhaps twice: bare and under
// its wrapper, which is the same password and hashed once).
const maxPasswords = 4

// hashPasswords replaces every password the params carry ("password",
// "user[password]", ...) with its hash, before a handler binds them and
// before the store's writer lock is taken: the store never sees plaintext
// and argon2id's cost is not paid under the lock. Only a write calls it
// (endpoint), and only once per request. Every value is a password, even one
// that looks like a hash: what a client sends is never stored as sent. A
// blank password stays blank, for validation to report as 3scale does.
func (p *Params) hashPasswords() error {
	hashes := map[string]string{} // plaintext → its hash: one hash per distinct password
	hash := func(plain string) (string, error) {
		if h, ok := hashes[plain]; ok {
			return h, nil
		}
		if len(hashes) == maxPasswords {
			return "", BadRequest(fmt.Sprintf("a request may carry at most %d distinct passwords: send each user's password once", maxPasswords))
		}
		h, err := composition.HashPassword(plain)
		if err != nil {
			return "", err
		}
		hashes[plain] = h
		return h, nil
	}
	for _, k := range sortedMapKeys(p.values) {
		if !isPasswordKey(k) {
			continue
		}
		for i, v := range p.values[k] {
			if v == "" {
				continue
			}
			h, err := hash(v)
			if err != nil {
				return err
			}
			p.values[k][i] = h
		}
	}
	for _, k := range sortedMapKeys(p.raw) {
		var v string
		if !isPasswordKey(k) || json.Unmarshal(p.raw[k], &v) != nil || v == "" {
			continue
		}
		h, err := hash(v) // the flat view's hash of the same password, so both views agree
		if err != nil {
			return err
		}
		p.raw[k], _ = json.Marshal(h)
	}
	return nil
}

func isPasswordKey(k string) bool { return k == "password" || strings.HasSuffix(k, "[password]") }
