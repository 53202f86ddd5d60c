//go:build !agentonly

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The coordinator refuses a bad --consul-prefix before it reaches Consul.
func TestCoordinatorRefusesABadConsulPrefix(t *testing.T) {
	var stderr bytes.Buffer
	code := run(newApp(), []string{"portolan", "coordinator", "--data-dir", t.TempDir(),
		"--consul", "http://127.0.0.1:1", "--consul-prefix", "a//b"}, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), `--consul-prefix "a//b": an empty segment`)
}

// A coordinator given --consul-prefix without its trailing "/" keeps its
// keys in that folder, not in keys glued to the prefix ("newscomposition/").
func TestCoordinatorConsulPrefixWithoutSlashKeepsKeysInTheFolder(t *testing.T) {
	cs := testenv.StartConsul(t)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-prefix", "news")
	co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")
	keys, _, err := cs.Client(t).KV().Keys("", "", nil)
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "news/"), "key %q is outside the folder news/ (all: %v)", k, keys)
	}
	assert.Contains(t, keys, "news/composition/meta")
}
