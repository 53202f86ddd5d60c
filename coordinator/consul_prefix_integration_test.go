package coordinator

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A program embedding the coordinator gets the folder its Consul prefix
// names, as the CLI does: "news" keeps every key under news/, not glued to
// the prefix (newscomposition/...).
func TestEmbeddedCoordinatorConsulPrefixWithoutSlashKeepsKeysInTheFolder(t *testing.T) {
	cs := testenv.StartConsul(t)
	const token = "admin-token-for-the-consul-prefix"
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: token, Logger: zerolog.Nop(),
		Consul: &ConsulConfig{Address: cs.URL, Prefix: "news"}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.PostForm("http://"+c.Addr()+"/admin/api/services.json",
		url.Values{"access_token": {token}, "name": {"News"}, "system_name": {"newsapi"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	keys, _, err := cs.Client(t).KV().Keys("", "", nil)
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "news/"), "key %q is outside the folder news/ (all: %v)", k, keys)
	}
	assert.Contains(t, keys, "news/composition/meta")
}

// A program embedding the coordinator is refused a prefix Consul would
// keep elsewhere than it names, as the CLI is, before Consul is reached.
func TestEmbeddedCoordinatorRefusesABadConsulPrefix(t *testing.T) {
	for _, raw := range []string{"a//b", "a/../b", "team\u00a0a"} {
		c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: zerolog.Nop(),
			Consul: &ConsulConfig{Address: "http://127.0.0.1:1", Prefix: raw}})
		if c != nil {
			c.ln.Close()
		}
		require.Error(t, err, "%q", raw)
		assert.Contains(t, err.Error(), "--consul-prefix", "%q", raw)
		assert.NotContains(t, err.Error(), "127.0.0.1:1", "%q: refused before Consul is reached", raw)
	}
}
