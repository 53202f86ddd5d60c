package ledger

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// A global window's count is home's last total plus this agent's requests
// not yet in it; a batch carries them home and its reply replaces the total.
func TestAddGlobalCarriedHomeAndMerged(t *testing.T) {
	l, err := New("", "i", func() int64 { return 1 }, zerolog.Nop())
	require.NoError(t, err)
	now := time.Now()
	start := time.Unix(now.Unix()-now.Unix()%3600, 0)
	add := func(d int64) int64 {
		n, err := l.AddGlobal("k", start, time.Hour, d)
		require.NoError(t, err)
		return n
	}
	assert.EqualValues(t, 1, add(1))
	assert.EqualValues(t, 2, add(1))
	assert.EqualValues(t, 1, add(-1), "taken back")
	assert.EqualValues(t, 2, add(1))
	l.cut()
	require.Len(t, l.spool, 1)
	assert.Equal(t, []registry.LimiterCount{{Key: "k", Start: start.Unix(), Window: 3600, Value: 2}}, l.spool[0].batch.Limiters)
	assert.EqualValues(t, 3, add(1), "pending: the spooled 2 and the open 1")
	// Home counted the batch and another agent's 4.
	l.ackedWith(l.spool[0], nil, []registry.LimiterCount{{Key: "k", Start: start.Unix(), Window: 3600, Value: 6}}, now)
	assert.EqualValues(t, 7, add(0), "home's 6 and the open 1")

	// An older home answers no counts: this agent's own stay the total.
	l.cut()
	l.ackedWith(l.spool[0], nil, nil, now)
	assert.EqualValues(t, 7, add(0))

	// Ended windows are forgotten.
	l.mu.Lock()
	l.mergeGlobalsLocked(nil, start.Add(time.Hour))
	l.mu.Unlock()
	assert.Empty(t, l.globals)
}
