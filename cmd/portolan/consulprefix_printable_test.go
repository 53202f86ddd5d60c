//go:build !agentonly

package main

import (
	"testing"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Every --consul-prefix consulPrefix accepts is a folder Consul stores keys
// in, read back under the name given; one Consul would refuse (it answers
// 400 to a key path holding a character that is not printable, such as a
// no-break or zero-width space) is refused at start, naming the flag,
// rather than failing on Consul's bare 400 at the first read.
func TestConsulPrefixAcceptsOnlyFoldersConsulStores(t *testing.T) {
	cs := testenv.StartConsul(t)
	kv := cs.Client(t).KV()
	for _, raw := range []string{
		"team a", "équipe", "a?b", "a#b", "a%2Fb", `a\b`, "a;b", "\U0001F600", "a\uFFFDb",
		"team\u00a0a", "team\u200ba", "a\u2028b", "a\u3000b", "a\u00adb", "a\x7fb",
	} {
		p, err := consulPrefix(raw)
		if err != nil {
			assert.Contains(t, err.Error(), "--consul-prefix", "%q", raw)
			continue
		}
		key := p + "composition/meta"
		_, err = kv.Put(&consul.KVPair{Key: key, Value: []byte("{}")}, nil)
		if !assert.NoError(t, err, "--consul-prefix %q was accepted, yet Consul refuses its keys", raw) {
			continue
		}
		pairs, _, err := kv.List(p, nil)
		require.NoError(t, err, "%q", raw)
		require.Len(t, pairs, 1, "--consul-prefix %q: the folder read back", raw)
		assert.Equal(t, key, pairs[0].Key, "--consul-prefix %q", raw)
	}
}
