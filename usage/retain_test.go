package usage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Retain lets deleted applications go from memory, the other coordinators'
// counters of them too, and has the service published again without them;
// the live applications' counters stay as they were.
func TestRetainDropsDeletedApplicationsAndRepublishesTheirService(t *testing.T) {
	now := time.Now().UTC()
	s := openTestUsage(t, t.TempDir(), now)
	defer s.Close()
	ctx := t.Context()
	for app := int64(1); app <= 10; app++ {
		_, err := s.Apply(ctx, "b-"+s64(app), 2, []Increment{{App: app, Metric: 3, Minute: minuteOf(now), Delta: app}}, now)
		require.NoError(t, err)
	}
	s.enableSharing()
	s.takeChanged(now)
	peers := newPeerUsage()
	peers.add(usageDoc{Service: 2, Counters: []shareCounter{
		{App: 1, Metric: 3, Period: "eternity", Value: 5}, {App: 9, Metric: 3, Period: "eternity", Value: 7}}})
	s.setPeers(peers)
	require.Equal(t, 10, s.Held())

	live := func(app int64) bool { return app <= 2 }
	assert.Equal(t, 8, s.Retain(live), "applications 3 to 10 were deleted")
	assert.Equal(t, 2, s.Held())
	assert.EqualValues(t, 1+5, s.Value(1, 3, "eternity", time.Time{}), "a live application keeps its count and its peers'")
	assert.EqualValues(t, 2, s.Value(2, 3, "eternity", time.Time{}))
	assert.Zero(t, s.Value(9, 3, "eternity", time.Time{}), "a peer's count of a deleted application goes too")
	for _, tot := range s.Totals(2, now) {
		assert.True(t, live(tot.ApplicationID), "totals of application %d, deleted", tot.ApplicationID)
	}
	docs := s.takeChanged(now)
	require.Contains(t, docs, int64(2), "the service is published again")
	for _, c := range docs[2].Counters {
		assert.True(t, live(c.App), "published counter of application %d, deleted", c.App)
	}
	assert.Zero(t, s.Retain(live), "nothing more to drop")
	vals, err := s.AppValues(9, 3, "eternity", []time.Time{{}})
	require.NoError(t, err)
	assert.EqualValues(t, []int64{9}, vals, "usage.db keeps the deleted application's counters for analytics")
}
