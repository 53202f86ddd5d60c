//go:build !agentonly

package main

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A Portolan before --consul-prefix named a folder glued the prefix to the
// key names: --consul-prefix news kept the composition in newscomposition/.
// Upgraded, a coordinator given the same flag reads news/composition/; it
// must refuse to start while the composition is only where the older one
// kept it, naming both places, rather than start an empty composition
// beside it (and beside older coordinators, in a rolling upgrade, still
// writing the old one).
func TestCoordinatorRefusesToStartBesideACompositionUnderTheGluedPrefix(t *testing.T) {
	cs := testenv.StartConsul(t)
	kv := cs.Client(t).KV()
	_, err := kv.Put(&consul.KVPair{Key: "newscomposition/meta", Value: []byte(`{"revision":3,"last_id":2}`)}, nil)
	require.NoError(t, err)

	bin := testenv.Binary(t) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "coordinator", "--listen", testenv.FreeAddr(t),
		"--data-dir", t.TempDir(), "--access-token", "test-admin-token",
		"--consul", cs.URL, "--consul-prefix", "news")
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the coordinator started beside the composition under newscomposition/:\n%s", out)
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the coordinator should have refused to start: %v\n%s", err, out)
	assert.Contains(t, string(out), "newscomposition/")
	assert.Contains(t, string(out), "news/composition/")
	keys, _, err := kv.Keys("news/", "", nil)
	require.NoError(t, err)
	assert.Empty(t, keys, "the refused coordinator wrote under news/")
}

// Once the composition is under the folder, the older keys left behind
// (a copy, say) stop no coordinator.
func TestCoordinatorStartsWhenTheFolderHoldsTheComposition(t *testing.T) {
	cs := testenv.StartConsul(t)
	kv := cs.Client(t).KV()
	_, err := kv.Put(&consul.KVPair{Key: "newscomposition/meta", Value: []byte(`{"revision":3,"last_id":2}`)}, nil)
	require.NoError(t, err)
	_, err = kv.Put(&consul.KVPair{Key: "news/composition/meta", Value: []byte(`{"revision":3,"last_id":2}`)}, nil)
	require.NoError(t, err)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-prefix", "news")
	co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")
}
