package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A drain that reaches home after its instance's join token was revoked
// (its credential checked just before the revocation) is refused as its
// heartbeat would be: the revoked instance stays critical, out of the
// map's passing set, rather than turning draining with a fresh heartbeat.
func TestDrainOfARevokedInstanceIsRefused(t *testing.T) {
	w := newWatchHome(t)
	n, err := w.r.RevokeJoinToken(w.token)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	assert.ErrorIs(t, w.r.Drain("a"), ErrUnknown, "a revoked instance's drain is refused")
	m := w.r.Map()
	require.Len(t, m.Services, 1)
	require.Len(t, m.Services[0].Instances, 1)
	assert.Equal(t, StatusCritical, m.Services[0].Instances[0].Status, "the revoked instance stays critical")
}
