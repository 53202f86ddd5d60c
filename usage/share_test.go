package usage

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// The published document holds this coordinator's current counters of one
// changed service, in compact rows, and decodes back to the same.
func TestUsageDocEncodesCurrentCountersOfChangedServices(t *testing.T) {
	now := time.Now().UTC()
	s := openTestUsage(t, t.TempDir(), now)
	defer s.Close()
	ctx := t.Context()
	_, err := s.Apply(ctx, "b-1", 2, []Increment{{App: 7, Metric: 3, Minute: minuteOf(now), Delta: 4}}, now)
	require.NoError(t, err)
	assert.Nil(t, s.takeChanged(now), "nothing is tracked before sharing starts")

	s.enableSharing()
	docs := s.takeChanged(now)
	require.Len(t, docs, 1, "a service with counters is published at start")
	doc := docs[2]
	assert.Equal(t, int64(2), doc.Service)
	assert.Len(t, doc.Counters, len(composition.Periods), "one counter per period")
	assert.Nil(t, s.takeChanged(now), "nothing changed since")

	_, err = s.Apply(ctx, "b-2", 5, []Increment{{App: 8, Metric: 3, Minute: minuteOf(now), Delta: 1}}, now)
	require.NoError(t, err)
	docs = s.takeChanged(now)
	require.Len(t, docs, 1, "only the changed service")
	require.Contains(t, docs, int64(5))

	b, err := json.Marshal(doc)
	require.NoError(t, err)
	minute := periodStart("minute", now)
	assert.Contains(t, string(b), `[7,3,"minute",`+s64(minute)+`,4]`)
	assert.Contains(t, string(b), `[7,3,"eternity",0,4]`)
	assert.NotContains(t, string(b), " ", "compact")
	back, err := decodeUsageDoc(b, 2)
	require.NoError(t, err)
	assert.ElementsMatch(t, doc.Counters, back.Counters)
}

func s64(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestUsageDocRefusesMalformedDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":          `{`,
		"other service":     `{"service":3,"counters":[]}`,
		"unknown field":     `{"service":2,"counters":[],"extra":1}`,
		"short row":         `{"service":2,"counters":[[7,3,"minute",60]]}`,
		"object row":        `{"service":2,"counters":[{"app":7}]}`,
		"unknown period":    `{"service":2,"counters":[[7,3,"fortnight",60,1]]}`,
		"negative value":    `{"service":2,"counters":[[7,3,"minute",60,-1]]}`,
		"no application":    `{"service":2,"counters":[[0,3,"minute",60,1]]}`,
		"string for number": `{"service":2,"counters":[["7",3,"minute",60,1]]}`,
	} {
		_, err := decodeUsageDoc([]byte(doc), 2)
		assert.Error(t, err, name)
	}
}

// Peers' documents add to limit checks and totals; this coordinator's own
// document and malformed ones (logged with their key) do not.
func TestUsageShareAddsPeersAndIgnoresOwnAndMalformed(t *testing.T) {
	now := time.Now().UTC()
	s := openTestUsage(t, t.TempDir(), now)
	defer s.Close()
	_, err := s.Apply(t.Context(), "b-1", 2, []Increment{{App: 7, Metric: 3, Minute: minuteOf(now), Delta: 4}}, now)
	require.NoError(t, err)
	var logs strings.Builder
	u := &Sharing{shared: storeShared{s}, kind: "usage", root: "p/usage/", id: "me", log: zerolog.New(&logs), published: map[int64]bool{}}
	s.enableSharing()

	peerDoc := func(service int64, counters ...shareCounter) []byte {
		b, err := json.Marshal(usageDoc{Service: service, Counters: counters})
		require.NoError(t, err)
		return b
	}
	minute, day := periodStart("minute", now), periodStart("day", now)
	pairs := consul.KVPairs{
		{Key: "p/usage/2/me", Value: peerDoc(2, shareCounter{7, 3, "minute", minute, 100}), ModifyIndex: 1},
		{Key: "p/usage/2/peer-1", Value: peerDoc(2, shareCounter{7, 3, "minute", minute, 2},
			shareCounter{9, 3, "day", day, 5}), ModifyIndex: 2},
		{Key: "p/usage/2/peer-2", Value: peerDoc(2, shareCounter{7, 3, "minute", minute, 3}), ModifyIndex: 3},
		{Key: "p/usage/2/broken", Value: []byte(`{"service":2,"counters":[[7]]}`), ModifyIndex: 4},
		{Key: "p/usage/x/peer-1", Value: peerDoc(2), ModifyIndex: 5},
	}
	warned := u.apply(pairs, nil)
	assert.Contains(t, logs.String(), "p/usage/2/broken")
	assert.Contains(t, logs.String(), "p/usage/x/peer-1")
	logs.Reset()
	u.apply(pairs, warned)
	assert.Empty(t, logs.String(), "a malformed document is logged once per version")

	assert.EqualValues(t, 4+2+3, s.Value(7, 3, "minute", time.Unix(minute, 0)), "own + peers, not own twice")
	assert.EqualValues(t, 5, s.Value(9, 3, "day", time.Unix(day, 0)), "an application only peers saw")
	got := map[string]int64{}
	for _, tot := range s.Totals(2, now) {
		if tot.Period == "minute" || tot.Period == "day" {
			got[s64(tot.ApplicationID)+"/"+tot.Period] = tot.Value
		}
	}
	assert.Equal(t, map[string]int64{"7/minute": 9, "7/day": 4, "9/day": 5}, got)

	// Admit decides on the sum.
	ok, err := s.Admit(t.Context(), 2, 7, []composition.Hit{{MetricID: 3, Delta: 1}}, now,
		func(c composition.Counter) bool { return c(7, 3, "minute", time.Unix(minute, 0))+1 <= 9 })
	require.NoError(t, err)
	assert.False(t, ok, "9 used of 9 across coordinators")

	// A document this coordinator published and that vanished is published again.
	s.takeChanged(now)
	u.published[2] = true
	u.apply(consul.KVPairs{}, nil)
	assert.Contains(t, s.takeChanged(now), int64(2))
}
