package coordinator

import (
	"strings"
	"testing"

	consul "github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A prefix the CLI accepts is accepted again by New, which reads the
// folder the CLI made of it: reading a folder gives the same folder. At
// the length bound too, where the CLI's added "/" must not push it over.
func TestConsulPrefixOfAFolderIsTheFolder(t *testing.T) {
	for _, raw := range []string{
		"portolan", "/portolan/", "team-a/portolan",
		strings.Repeat("a", ConsulPrefixMax), "/" + strings.Repeat("a", ConsulPrefixMax-1),
	} {
		p, err := ConsulPrefix(raw)
		require.NoError(t, err, "%q", raw)
		again, err := ConsulPrefix(p)
		require.NoError(t, err, "the folder %q that --consul-prefix %q names", p, raw)
		assert.Equal(t, p, again, "%q", raw)
		cc := &ConsulConfig{Prefix: p}
		_, err = cc.resolved()
		assert.NoError(t, err, "New refuses the folder the CLI made of --consul-prefix %q", raw)
	}
}

// A program embedding the coordinator, given a prefix without its "/",
// is refused beside a composition kept under the old glued prefix (where
// it kept its keys before New read the prefix as a folder), as the CLI
// is: starting would begin an empty composition beside the old one.
func TestEmbeddedCoordinatorRefusesBesideTheGluedComposition(t *testing.T) {
	cs := testenv.StartConsul(t)
	_, err := cs.Client(t).KV().Put(&consul.KVPair{Key: "newscomposition/meta", Value: []byte(`{"revision":3}`)}, nil)
	require.NoError(t, err)
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: zerolog.Nop(),
		Consul: &ConsulConfig{Address: cs.URL, Prefix: "news"}})
	if c != nil {
		c.ln.Close()
	}
	require.Error(t, err, "an embedded coordinator started on an empty news/ beside newscomposition/")
	assert.Contains(t, err.Error(), "newscomposition/")
}
