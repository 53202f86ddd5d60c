package consulstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// A key under the prefix that the store cannot read (written by someone
// else) refuses writes with an error naming it (503), not a conflict to
// retry forever; once it is removed, writes go on.
func TestAnUnreadableKeyRefusesWritesNamingItNotAConflict(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	s := open(t, cl)
	require.NoError(t, createNamed(s, "one"))
	n := 0

	for _, bad := range []struct{ key, value string }{
		{prefix + "composition/services/999", "{not json"},
		{prefix + "composition/meta", "{not json"},
	} {
		old, _, err := cl.KV().Get(bad.key, nil)
		require.NoError(t, err)
		_, err = cl.KV().Put(&api.KVPair{Key: bad.key, Value: []byte(bad.value)}, nil)
		require.NoError(t, err)
		touchMeta(t, cl) // as another coordinator's write does: this store's next write conflicts and reloads

		for range 2 { // the same answer every time: not "retry"
			err := createNamed(s, "two")
			var conflict *consulstore.ErrConflict
			assert.False(t, errors.As(err, &conflict), "%s: told as a conflict: %v", bad.key, err)
			var corrupt *consulstore.ErrCorrupt
			require.ErrorAs(t, err, &corrupt, "%s", bad.key)
			assert.Equal(t, bad.key, corrupt.Key)
			assert.Equal(t, http.StatusServiceUnavailable, corrupt.HTTPStatus())
			assert.Contains(t, err.Error(), bad.key)
		}

		if old == nil {
			_, err = cl.KV().Delete(bad.key, nil)
		} else {
			_, err = cl.KV().Put(&api.KVPair{Key: bad.key, Value: old.Value}, nil)
		}
		require.NoError(t, err)
		n++
		name := fmt.Sprintf("after %d", n)
		require.Eventually(t, func() bool { return createNamed(s, name) == nil }, 10*time.Second, 100*time.Millisecond,
			"%s: writes do not go on once it is fixed", bad.key)
		_, ok := s.Snapshot().ServiceBySystemName(composition.SystemName(name))
		assert.True(t, ok)
	}
}

// touchMeta writes the meta key again, meaning the same (Consul does not
// move the ModifyIndex of a key set to the value it holds).
func touchMeta(t *testing.T, cl *api.Client) {
	t.Helper()
	m, _, err := cl.KV().Get(prefix+"composition/meta", nil)
	require.NoError(t, err)
	require.NotNil(t, m)
	_, err = cl.KV().Put(&api.KVPair{Key: m.Key, Value: append(m.Value, ' ')}, nil)
	require.NoError(t, err)
}
