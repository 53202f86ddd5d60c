package registry

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// mapFleet registers n instances in a registry whose composition has the
// services news (plans basic, gold) and billing (no plan); every third
// instance is billing's, every tenth of the others is "legacy", a service
// the composition does not know; every fifth registers warning, and
// instances carry the label zone=a or zone=b by parity.
func mapFleet(t testing.TB, n int) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), store: newMemStore()}
	r, err := New(Config{Store: f.store, Now: f.clock.Now, Logger: zerolog.Nop(), MaxInstances: max(n, DefaultMaxInstances)})
	require.NoError(t, err)
	f.r = r
	news := &composition.Service{Name: "News", SystemName: "news"}
	billing := &composition.Service{Name: "Billing", SystemName: "billing"}
	f.store.write(t, func(tx *composition.Tx) error {
		if err := tx.Create(news); err != nil {
			return err
		}
		return tx.Create(billing)
	})
	f.store.write(t, func(tx *composition.Tx) error {
		if err := tx.Create(&composition.ApplicationPlan{ServiceID: news.ID, Name: "Basic", SystemName: "basic"}); err != nil {
			return err
		}
		return tx.Create(&composition.ApplicationPlan{ServiceID: news.ID, Name: "Gold", SystemName: "gold"})
	})
	for i := range n {
		rg := reg(fleetService(i))
		rg.Labels = map[string]string{"zone": []string{"a", "b"}[i%2]}
		if i%5 == 0 {
			rg.Status = StatusWarning
		}
		_, err = f.r.Register(fmt.Sprintf("in-%06d", i), rg)
		require.NoError(t, err)
	}
	return f
}

func fleetService(i int) string {
	switch {
	case i%3 == 0:
		return "billing"
	case i%10 == 1:
		return "legacy"
	}
	return "news"
}

func ids(m Map) []string {
	var out []string
	for _, s := range m.Services {
		for _, in := range s.Instances {
			out = append(out, in.ID)
		}
	}
	return out
}

// TestMapPageWalksEveryInstanceOnce pages through a filtered map: every kept
// instance comes once, in id order, and the last page has no cursor.
func TestMapPageWalksEveryInstanceOnce(t *testing.T) {
	f := mapFleet(t, 300)
	want := map[string]bool{}
	for i := range 300 {
		if fleetService(i) == "news" && i%2 == 0 {
			want[fmt.Sprintf("in-%06d", i)] = true
		}
	}
	q := MapQuery{Service: "news", Labels: map[string]string{"zone": "a"}, Limit: 7}
	got := map[string]bool{}
	last, pages := "", 0
	for {
		m := f.r.MapPage(q)
		pages++
		assert.Equal(t, len(want), m.Matched)
		require.Len(t, m.Services, 1)
		for _, id := range ids(m) {
			assert.False(t, got[id], "instance %s came twice", id)
			assert.Greater(t, id, last, "pages follow id order")
			got[id], last = true, id
		}
		if m.Next == "" {
			break
		}
		assert.Len(t, ids(m), 7)
		q.Cursor = m.Next
	}
	assert.Equal(t, want, got)
	assert.Equal(t, (len(want)+6)/7, pages)

	// The service filter alone draws what Map().Only draws.
	assert.Equal(t, f.r.Map().Only("billing").Services, f.r.MapPage(MapQuery{Service: "billing"}).Services)
	// Plans and statuses filter.
	gold := f.r.MapPage(MapQuery{Plan: "gold", Status: StatusWarning})
	for _, s := range gold.Services {
		for _, in := range s.Instances {
			assert.Equal(t, "news", s.Name)
			assert.Equal(t, StatusWarning, in.Status)
		}
	}
	assert.Equal(t, len(ids(gold)), gold.Matched)
	assert.NotZero(t, gold.Matched)
}

// TestMapPageOffsetsAndLabelKeys: an Offset page is the same slice of the
// id order as the cursor walks; a label key alone keeps the instances that
// carry it; MapOne draws one instance under its map service.
func TestMapPageOffsetsAndLabelKeys(t *testing.T) {
	f := mapFleet(t, 120)
	all := ids(f.r.MapPage(MapQuery{HasLabels: []string{"zone"}}))
	require.Len(t, all, 120, "every instance carries zone")
	assert.Empty(t, ids(f.r.MapPage(MapQuery{HasLabels: []string{"rack"}})))

	var byID []string
	for i := range 120 {
		byID = append(byID, fmt.Sprintf("in-%06d", i))
	}
	for _, off := range []int{0, 10, 115, 120, 500} {
		m := f.r.MapPage(MapQuery{Limit: 10, Offset: off})
		want := byID[min(off, 120):min(off+10, 120)]
		if len(want) == 0 {
			want = nil
		}
		assert.Equal(t, want, sortedIDs(m), "offset %d", off)
		assert.Equal(t, 120, m.Matched)
		assert.Equal(t, off+10 < 120, m.Next != "", "offset %d: a next page only when one is left", off)
	}

	m, ok := f.r.MapOne("in-000003")
	require.True(t, ok)
	require.Len(t, m.Services, 1)
	assert.Equal(t, "billing", m.Services[0].Name)
	assert.Equal(t, []string{"in-000003"}, ids(m))
	_, ok = f.r.MapOne("in-999999")
	assert.False(t, ok)
}

// MapPageSummary answers what MapPage and MapSummary answer apart.
func TestMapPageSummaryIsPageAndSummary(t *testing.T) {
	f := mapFleet(t, 200)
	for _, qs := range [][2]MapQuery{
		{{}, {}},
		{{Service: "news", Status: StatusWarning, Limit: 10, Offset: 5}, {HasLabels: []string{"zone"}}},
		{{Plan: "gold", Limit: 3}, {Service: "billing"}},
	} {
		m, s := f.r.MapPageSummary(qs[0], qs[1])
		assert.Equal(t, f.r.MapPage(qs[0]), m, "%+v", qs[0])
		assert.Equal(t, f.r.MapSummary(qs[1]), s, "%+v", qs[1])
	}
}

func sortedIDs(m Map) []string {
	out := ids(m)
	slices.Sort(out)
	return out
}

// TestMapSummaryCounts checks the counts against the fleet's rule.
func TestMapSummaryCounts(t *testing.T) {
	f := mapFleet(t, 300)
	want := map[string]map[string]int{}
	for i := range 300 {
		svc, st := fleetService(i), StatusPassing
		if i%5 == 0 {
			st = StatusWarning
		}
		if want[svc] == nil {
			want[svc] = map[string]int{}
		}
		want[svc][st]++
	}
	s := f.r.MapSummary(MapQuery{})
	assert.Equal(t, 300, s.Instances)
	require.Len(t, s.Services, 3)
	assert.Equal(t, []string{"news", "billing", "legacy"}, []string{s.Services[0].Name, s.Services[1].Name, s.Services[2].Name})
	for _, svc := range s.Services {
		assert.Equal(t, want[svc.Name], svc.Statuses, svc.Name)
	}
	news := s.Services[0]
	require.Len(t, news.Plans, 2)
	assert.Equal(t, "basic", news.Plans[0].Plan)
	assert.Equal(t, news.Instances, news.Plans[0].Instances, "every news instance serves basic")
	assert.Equal(t, want["news"], news.Plans[1].Statuses)
	require.Len(t, s.Services[1].Plans, 1)
	assert.Equal(t, "", s.Services[1].Plans[0].Plan, "billing has no plan")

	warn := f.r.MapSummary(MapQuery{Status: StatusWarning, Service: "news"})
	require.Len(t, warn.Services, 1)
	assert.Equal(t, want["news"][StatusWarning], warn.Instances)
}

// TestMapDeltaTellsOnlyWhatChanged: a watcher current at an index gets the
// instance that changed and the one removed, not the rest; one the log
// cannot answer (index 0, a composition change) gets the whole map.
func TestMapDeltaTellsOnlyWhatChanged(t *testing.T) {
	f := mapFleet(t, 300)
	q := MapQuery{Service: "news"}
	d := f.r.MapDelta(q, 0)
	require.NotNil(t, d.Full, "index 0 starts from the whole map")
	at := d.Index

	_, err := f.r.Heartbeat("in-000002", Heartbeat{Status: StatusCritical}) // news
	require.NoError(t, err)
	require.NoError(t, f.r.Deregister("in-000004"))                        // news
	_, err = f.r.Heartbeat("in-000003", Heartbeat{Status: StatusCritical}) // billing: not kept
	require.NoError(t, err)

	d = f.r.MapDelta(q, at)
	assert.Nil(t, d.Full)
	require.Len(t, d.Changed, 1)
	assert.Equal(t, "in-000002", d.Changed[0].Instance.ID)
	assert.Equal(t, "news", d.Changed[0].MapService)
	assert.Equal(t, StatusCritical, d.Changed[0].Instance.Status)
	assert.Equal(t, []string{"in-000003", "in-000004"}, d.Removed, "gone, or not kept by the query")

	none := f.r.MapDelta(q, d.Index)
	assert.Nil(t, none.Full)
	assert.Empty(t, none.Changed)
	assert.Empty(t, none.Removed)

	f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Other", SystemName: "other"})
	})
	assert.NotNil(t, f.r.MapDelta(q, d.Index).Full, "a composition change redraws everything")
}

// TestMapDeltaSeesExpiry: the reaper's changes reach the log too.
func TestMapDeltaSeesExpiry(t *testing.T) {
	f := mapFleet(t, 10)
	at := f.r.Index()
	f.tick(DefaultTTL + 1)
	d := f.r.MapDelta(MapQuery{}, at)
	require.Nil(t, d.Full)
	assert.Len(t, d.Changed, 10, "every instance turned critical")
	f.tick(DefaultDeregisterCriticalAfter + 1)
	d = f.r.MapDelta(MapQuery{}, d.Index)
	require.Nil(t, d.Full)
	assert.Len(t, d.Removed, 10)
}

// TestMapLogWraps: past its bound the log forgets, and a watcher older
// than what it holds gets the whole map.
func TestMapLogWraps(t *testing.T) {
	var l mapLog
	for i := range mapLogSize + 10 {
		l.note(uint64(i+1), fmt.Sprint(i))
	}
	assert.False(t, l.since(5, func(string) {}))
	var got []string
	assert.True(t, l.since(mapLogSize+8, func(id string) { got = append(got, id) }))
	assert.Equal(t, []string{fmt.Sprint(mapLogSize + 8), fmt.Sprint(mapLogSize + 9)}, got)
}
