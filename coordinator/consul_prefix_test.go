package coordinator

import (
	"strings"
	"testing"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// "portolan" and "portolan/" are the same KV folder, as Consul users expect;
// a leading "/" is dropped as Consul's client drops it.
func TestConsulPrefixWithoutTrailingSlashIsTheSameFolder(t *testing.T) {
	for raw, want := range map[string]string{
		"portolan": "portolan/", "portolan/": "portolan/", "/portolan": "portolan/", "/portolan/": "portolan/",
		"team-a/portolan": "team-a/portolan/", "team-a/portolan/": "team-a/portolan/",
	} {
		got, err := ConsulPrefix(raw)
		require.NoError(t, err, "%q", raw)
		assert.Equal(t, want, got, "--consul-prefix %q", raw)
	}
}

// A prefix whose keys Consul would store elsewhere than it names, or at the
// KV root, is refused with an error naming the flag and the problem.
func TestConsulPrefixRefusesFoldersConsulWouldNotKeep(t *testing.T) {
	for raw, why := range map[string]string{
		"":                       "empty",
		"/":                      "empty",
		"a//b":                   "empty segment",
		"//portolan":             "empty segment",
		"a/../b":                 `".." segment`,
		"..":                     `".." segment`,
		"./portolan":             `"." segment`,
		"port\nolan":             "control character",
		"\xff":                   "UTF-8",
		strings.Repeat("a", 300): "longer than 256",
	} {
		_, err := ConsulPrefix(raw)
		require.Error(t, err, "%q", raw)
		assert.Contains(t, err.Error(), "--consul-prefix", "%q", raw)
		assert.Contains(t, err.Error(), why, "%q", raw)
	}
}

// A config that names no prefix keeps its keys in the default folder;
// resolving leaves the caller's config as it was given.
func TestConsulConfigResolvedDefaultsAndCopies(t *testing.T) {
	given := &ConsulConfig{Address: "http://127.0.0.1:8500"}
	got, err := given.resolved()
	require.NoError(t, err)
	assert.Equal(t, "portolan/", got.Prefix)
	given.Prefix = "news"
	got, err = given.resolved()
	require.NoError(t, err)
	assert.Equal(t, "news/", got.Prefix)
	assert.Equal(t, "news", given.Prefix, "the caller's config is not written")
}

// Every prefix ConsulPrefix accepts is a folder Consul stores keys in,
// read back under the name given; one Consul would refuse (it answers 400
// to a key path holding a character that is not printable, such as a
// no-break or zero-width space) is refused at start, naming the flag,
// rather than failing on Consul's bare 400 at the first read.
func TestConsulPrefixAcceptsOnlyFoldersConsulStores(t *testing.T) {
	cs := testenv.StartConsul(t)
	kv := cs.Client(t).KV()
	for _, raw := range []string{
		"team a", "équipe", "a?b", "a#b", "a%2Fb", `a\b`, "a;b", "\U0001F600", "a\uFFFDb",
		"team\u00a0a", "team\u200ba", "a\u2028b", "a\u3000b", "a\u00adb", "a\x7fb",
	} {
		p, err := ConsulPrefix(raw)
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
