package consulstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// bumpIndex raises Consul's Raft index by n writes outside the prefix, as
// any busy Consul has it (sessions, catalog, other apps' KV).
func bumpIndex(t *testing.T, cl *api.Client, n int) {
	t.Helper()
	for i := range n {
		_, err := cl.KV().Put(&api.KVPair{Key: fmt.Sprintf("elsewhere/%d", i), Value: []byte("x")}, nil)
		require.NoError(t, err)
	}
}

func createNamed(s *consulstore.Store, name string) error {
	_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name})
	})
	return err
}

// Writes go on once the composition is put back into a restarted Consul
// (consul kv export / import) at the same revision but lower ModifyIndexes.
func TestWritesGoOnAfterTheSameRevisionIsRestoredAtLowerIndexes(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := newClient(t, c)
	bumpIndex(t, cl, 100)
	s := open(t, cl)
	require.NoError(t, createNamed(s, "one"))
	saved, _, err := cl.KV().List(prefix, nil)
	require.NoError(t, err)

	c.Restart()
	cl2 := newClient(t, c)
	for _, p := range saved { // consul kv import
		_, err := cl2.KV().Put(&api.KVPair{Key: p.Key, Value: p.Value}, nil)
		require.NoError(t, err)
	}
	var last error
	ok := assert.Eventually(t, func() bool {
		last = createNamed(s, "two")
		return last == nil
	}, 15*time.Second, 250*time.Millisecond)
	require.True(t, ok, "a write on the restored composition never succeeds; last error: %v (store err: %v)", last, s.Err())
}

// Writes go on over a KV rebuilt in place at lower ModifyIndexes (same keys,
// values and revision), without a Consul binary.
func TestWritesGoOnAfterARebuiltKVWithLowerIndexes(t *testing.T) {
	fake := newFakeKV(1000)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cl, err := api.NewClient(cfg)
	require.NoError(t, err)
	s := open(t, cl)
	require.NoError(t, createNamed(s, "one"))

	fake.rebuild() // same revision, ModifyIndexes from 11
	var last error
	ok := assert.Eventually(t, func() bool {
		last = createNamed(s, "two")
		return last == nil
	}, 5*time.Second, 100*time.Millisecond)
	require.True(t, ok, "a write on the rebuilt KV never succeeds; last error: %v", last)
}

// The watch notices, within seconds, that a restarted Consul (a new Raft
// log at lower indexes) lost the composition.
func TestWatchNoticesConsulLosingTheCompositionAfterARestart(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := newClient(t, c)
	bumpIndex(t, cl, 100)
	s := open(t, cl)
	require.NoError(t, createNamed(s, "one"))
	time.Sleep(300 * time.Millisecond) // the watch is blocking on the meta key

	c.Restart() // a dev agent keeps nothing
	assert.Eventually(t, func() bool { return s.Err() != nil }, 15*time.Second, 100*time.Millisecond,
		"the store never noticed Consul lost the composition")
}
