package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// world is a composition with two services, their plans and placements:
//
//	news: basic, gold, enterprise
//	billing: standard
//	placements: gold-pool   news{pool=gold}          → news [gold]
//	            eu          news{region=eu}          → news [basic, gold]
//	            anything    legacy{}                 → billing (all plans)
type world struct {
	snap                       *composition.Snapshot
	news, billing              *composition.Service
	basic, gold, enterprise    *composition.ApplicationPlan
	standard                   *composition.ApplicationPlan
	goldPool, eu, legacyToBill *composition.Placement
}

func newWorld(t testing.TB) (*world, memStore) {
	t.Helper()
	store := newMemStore()
	w := &world{
		news:    &composition.Service{Name: "News", SystemName: "news"},
		billing: &composition.Service{Name: "Billing", SystemName: "billing"},
	}
	store.write(t, func(tx *composition.Tx) error {
		if err := tx.Create(w.news); err != nil {
			return err
		}
		return tx.Create(w.billing)
	})
	w.basic = &composition.ApplicationPlan{ServiceID: w.news.ID, Name: "Basic", SystemName: "basic"}
	w.gold = &composition.ApplicationPlan{ServiceID: w.news.ID, Name: "Gold", SystemName: "gold"}
	w.enterprise = &composition.ApplicationPlan{ServiceID: w.news.ID, Name: "Enterprise", SystemName: "enterprise"}
	w.standard = &composition.ApplicationPlan{ServiceID: w.billing.ID, Name: "Standard", SystemName: "standard"}
	store.write(t, func(tx *composition.Tx) error {
		for _, p := range []*composition.ApplicationPlan{w.basic, w.gold, w.enterprise, w.standard} {
			if err := tx.Create(p); err != nil {
				return err
			}
		}
		return nil
	})
	w.goldPool = &composition.Placement{Name: "gold-pool", ServiceID: w.news.ID, PlanIDs: []int64{w.gold.ID},
		Selector: composition.Selector{Service: "news", Labels: map[string]string{"pool": "gold"}}}
	w.eu = &composition.Placement{Name: "eu", ServiceID: w.news.ID, PlanIDs: []int64{w.gold.ID, w.basic.ID},
		Selector: composition.Selector{Service: "news", Labels: map[string]string{"region": "eu"}}}
	w.legacyToBill = &composition.Placement{Name: "legacy-billing", ServiceID: w.billing.ID,
		Selector: composition.Selector{Service: "legacy"}}
	w.snap = store.write(t, func(tx *composition.Tx) error {
		for _, p := range []*composition.Placement{w.goldPool, w.eu, w.legacyToBill} {
			if err := tx.Create(p); err != nil {
				return err
			}
		}
		return nil
	})
	return w, store
}

func TestPlacementFor(t *testing.T) {
	w, _ := newWorld(t)
	ref := func(p *composition.ApplicationPlan) PlanRef {
		return PlanRef{ID: p.ID, SystemName: p.SystemName, Name: p.Name}
	}
	rev := w.snap.Revision
	cases := []struct {
		name    string
		service string
		labels  map[string]string
		want    Placement
	}{
		{"default: service by system_name, all plans", "news", nil, Placement{
			Service: "news", ServiceID: w.news.ID, Revision: rev,
			Plans: []PlanRef{ref(w.basic), ref(w.gold), ref(w.enterprise)},
		}},
		{"labels no placement picks: default", "news", map[string]string{"pool": "basic"}, Placement{
			Service: "news", ServiceID: w.news.ID, Revision: rev,
			Plans: []PlanRef{ref(w.basic), ref(w.gold), ref(w.enterprise)},
		}},
		{"one placement with plan ids", "news", map[string]string{"pool": "gold", "zone": "a"}, Placement{
			Service: "news", ServiceID: w.news.ID, Revision: rev,
			Plans: []PlanRef{ref(w.gold)}, Placements: []string{"gold-pool"},
		}},
		{"several placements: union in id order, names in placement order", "news",
			map[string]string{"pool": "gold", "region": "eu"}, Placement{
				Service: "news", ServiceID: w.news.ID, Revision: rev,
				Plans: []PlanRef{ref(w.basic), ref(w.gold)}, Placements: []string{"gold-pool", "eu"},
			}},
		{"placement without plan ids: all the service's plans", "legacy", nil, Placement{
			Service: "billing", ServiceID: w.billing.ID, Revision: rev,
			Plans: []PlanRef{ref(w.standard)}, Placements: []string{"legacy-billing"},
		}},
		{"neither", "unknown", map[string]string{"pool": "gold"}, Placement{Plans: []PlanRef{}, Revision: rev}},
		{"selector service must match", "billing", map[string]string{"pool": "gold"}, Placement{
			Service: "billing", ServiceID: w.billing.ID, Revision: rev, Plans: []PlanRef{ref(w.standard)},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, PlacementFor(w.snap, c.service, c.labels))
		})
	}
}

func TestPlacementForEmptyComposition(t *testing.T) {
	p := PlacementFor(composition.New(), "news", nil)
	assert.Equal(t, Placement{Plans: []PlanRef{}}, p)
	assert.NotNil(t, p.Plans, "plans encode as [], not null")
}

func TestSamePlacementComparesContent(t *testing.T) {
	w, _ := newWorld(t)
	a := PlacementFor(w.snap, "news", map[string]string{"pool": "gold"})
	b := PlacementFor(w.snap, "news", map[string]string{"pool": "gold"})
	b.Revision++
	assert.True(t, samePlacement(a, b), "equal content, other slices, other revision")
	c := PlacementFor(w.snap, "news", nil)
	assert.False(t, samePlacement(a, c))
}

func TestMapDrawing(t *testing.T) {
	w, store := newWorld(t)
	clk := newClock()
	r, err := New(Config{Store: store, Now: clk.Now})
	require.NoError(t, err)

	register := func(id, service string, labels map[string]string) {
		t.Helper()
		rg := reg(service)
		rg.Labels = labels
		_, err := r.Register(id, rg)
		require.NoError(t, err)
	}
	register("news-b", "news", nil)
	register("news-a", "news", map[string]string{"pool": "gold"})
	register("legacy-1", "legacy", nil)
	register("zeta-1", "zeta", nil)
	register("orphan-1", "orphan", nil)
	clk.Advance(1500 * time.Millisecond)
	_, err = r.Heartbeat("news-a", Heartbeat{Status: StatusWarning, Output: "slow"})
	require.NoError(t, err)
	clk.Advance(500 * time.Millisecond)

	m := r.Map()
	assert.Equal(t, r.Index(), m.Index)
	assert.Equal(t, w.snap.Revision, m.Revision)
	names := []string{}
	for _, s := range m.Services {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"news", "billing", "orphan", "zeta"}, names,
		"composition services in id order, then unknown services by name")

	news := m.Services[0]
	assert.Equal(t, w.news.ID, news.ID)
	assert.Len(t, news.Plans, 3)
	require.Len(t, news.Placements, 2)
	assert.Equal(t, MapPlacement{ID: w.goldPool.ID, Name: "gold-pool", SelectorService: "news",
		Selector: map[string]string{"pool": "gold"},
		Plans:    []PlanRef{{ID: w.gold.ID, SystemName: "gold", Name: "Gold"}}}, news.Placements[0])
	assert.Equal(t, "eu", news.Placements[1].Name)
	require.Len(t, news.Instances, 2)
	a, b := news.Instances[0], news.Instances[1]
	assert.Equal(t, "news-a", a.ID, "instances sorted by id")
	assert.Equal(t, StatusWarning, a.Status)
	assert.Equal(t, "slow", a.Output)
	assert.Equal(t, []string{"gold-pool"}, a.Placements)
	assert.Len(t, a.Plans, 1)
	assert.Equal(t, Duration(500*time.Millisecond), a.Age)
	assert.Equal(t, "news-b", b.ID)
	assert.Equal(t, Duration(2*time.Second), b.Age)
	assert.Equal(t, "10.0.0.7", b.Address)
	assert.Equal(t, 8080, b.Port)
	assert.Equal(t, "test", b.AgentVersion)
	assert.Len(t, b.Plans, 3)

	billing := m.Services[1]
	require.Len(t, billing.Instances, 1, "an instance goes under its placement's service")
	assert.Equal(t, "legacy", billing.Instances[0].Service, "while keeping the service it registered as")
	require.Len(t, billing.Placements, 1)
	assert.Equal(t, "legacy", billing.Placements[0].SelectorService)
	assert.Equal(t, map[string]string{}, billing.Placements[0].Selector)

	orphan := m.Services[2]
	assert.Zero(t, orphan.ID, "unknown to the composition")
	assert.Equal(t, []PlanRef{}, orphan.Plans)
	assert.Equal(t, []MapPlacement{}, orphan.Placements)
	require.Len(t, orphan.Instances, 1)

	only := m.Only("billing")
	require.Len(t, only.Services, 1)
	assert.Equal(t, "billing", only.Services[0].Name)
	assert.Equal(t, m.Index, only.Index)
	assert.Empty(t, m.Only("nothing").Services)
	assert.Len(t, m.Only("").Services, 4)
	assert.Len(t, m.Services, 4, "Only leaves the map alone")
}

func TestMapOfEmptyRegistry(t *testing.T) {
	f := newFixture(t)
	m := f.r.Map()
	assert.NotNil(t, m.Services)
	assert.Empty(t, m.Services)
	assert.Equal(t, uint64(1), m.Index, "the index starts at 1, so index=0 never blocks")
}
