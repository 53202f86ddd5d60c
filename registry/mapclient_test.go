package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMapSelectAndSummaryMatchHome: what a client computes from a whole
// map (the fallback for a peer that answers only those) is what home
// answers to the same query.
func TestMapSelectAndSummaryMatchHome(t *testing.T) {
	f := mapFleet(t, 300)
	whole := f.r.Map()
	for _, q := range []MapQuery{
		{},
		{Service: "news"},
		{Plan: "gold", Limit: 10},
		{Status: StatusWarning, Labels: map[string]string{"zone": "b"}, Limit: 5, Cursor: "in-000100"},
		{Service: "legacy", Limit: 1000},
		{Limit: 10, Offset: 95},
		{Service: "news", HasLabels: []string{"zone"}, Limit: 7, Offset: 7},
		{Limit: 10, Offset: 400},
	} {
		assert.Equal(t, f.r.MapPage(q), whole.Select(q), "%+v", q)
		assert.Equal(t, f.r.MapSummary(q), whole.Summary(q), "%+v", q)
	}
}

// TestMapApplyDeltas: a watcher's copy, brought forward by deltas, is the
// map home draws.
func TestMapApplyDeltas(t *testing.T) {
	f := mapFleet(t, 50)
	mine := f.r.Map()
	_, err := f.r.Heartbeat("in-000002", Heartbeat{Status: StatusCritical})
	require.NoError(t, err)
	require.NoError(t, f.r.Deregister("in-000004"))
	_, err = f.r.Register("in-new", reg("fresh"))
	require.NoError(t, err)
	d := f.r.MapDelta(MapQuery{}, mine.Index)
	require.Nil(t, d.Full)
	assert.Len(t, d.Changed, 2)
	mine.Apply(d)
	assert.Equal(t, f.r.Map(), mine)
}
