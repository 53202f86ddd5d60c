package coordinator

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// Home adds agents' increments per service and window, answers the windows
// not ended (an empty list, never null), and forgets ended ones.
func TestLimiterCountsPerServiceAndWindow(t *testing.T) {
	var lc limiterCounts
	now := time.Unix(1_000_000_000, 0)
	start := now.Unix() - now.Unix()%60
	assert.NotNil(t, lc.totals(1, now), "a home that counts them says so")
	lc.add(1, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 4}}, now)
	lc.add(1, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 2}, {Key: "k", Start: start, Window: 60, Value: -1},
		{Key: "old", Start: start - 60, Window: 60, Value: 9}, {Key: "", Start: start, Window: 60, Value: 1}}, now)
	lc.add(2, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 1}}, now)
	assert.Equal(t, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 5}}, lc.totals(1, now))
	assert.Equal(t, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 1}}, lc.totals(2, now))
	assert.Empty(t, lc.totals(1, now.Add(time.Minute)))
	assert.Equal(t, 1, lc.n)
}

// Shared through Consul (limiterShare): this coordinator publishes only
// what it counted, the others' documents add to its totals (their windows
// it did not count too), ended windows are left out, and a malformed
// document is refused naming what is wrong.
func TestLimiterCountsShared(t *testing.T) {
	var lc limiterCounts
	share := limiterShare{&lc}
	now := time.Unix(1_000_000_000, 0)
	start := now.Unix() - now.Unix()%60
	lc.add(1, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 4}}, now)

	docs := share.Changed(now)
	assert.Equal(t, map[int64]any{1: limiterDoc{Service: 1, Windows: []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 4}}}}, docs)
	assert.Empty(t, share.Changed(now), "nothing counted since")
	lc.add(2, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 1}}, now)
	share.Republish(1)
	assert.Len(t, share.Changed(now), 2)

	peer, err := share.Decode(1, []byte(`{"service":1,"windows":[{"key":"k","start":`+itoa(start)+`,"window":60,"value":3},`+
		`{"key":"theirs","start":`+itoa(start)+`,"window":60,"value":2},{"key":"old","start":`+itoa(start-60)+`,"window":60,"value":9}]}`))
	require.NoError(t, err)
	share.SetPeers([]any{peer, peer})
	assert.ElementsMatch(t, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 10}, {Key: "theirs", Start: start, Window: 60, Value: 4}},
		lc.totals(1, now), "own 4 and two peers' 3; the peers' own window; not the ended one")
	assert.Equal(t, map[int64]any{1: limiterDoc{Service: 1, Windows: []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 4}}}},
		func() map[int64]any { share.Republish(1); return share.Changed(now) }(), "what is published is only this coordinator's")

	for doc, want := range map[string]string{
		`{"service":2,"windows":[]}`:                                             "of service 2 under the key of service 1",
		`{"service":1,"windows":[],"extra":1}`:                                   "unknown field",
		`{"service":1,"windows":[{"key":"","start":0,"window":60,"value":1}]}`:   "windows[0]: key of 0 bytes",
		`{"service":1,"windows":[{"key":"k","start":0,"window":0,"value":1}]}`:   "windows[0]: window of 0 seconds",
		`{"service":1,"windows":[{"key":"k","start":0,"window":60,"value":-1}]}`: "windows[0]: negative",
	} {
		_, err := share.Decode(1, []byte(doc))
		assert.ErrorContains(t, err, want, doc)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
