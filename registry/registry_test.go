package registry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// memStore is a composition store in memory.
type memStore struct{ *composition.Head }

func (m memStore) Close() error { m.Head.Close(); return nil }

func newMemStore() memStore {
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	return memStore{composition.NewHead(composition.New(), nop, nil)}
}

func (m memStore) write(t testing.TB, fn func(*composition.Tx) error) *composition.Snapshot {
	t.Helper()
	s, err := m.Update(context.Background(), fn)
	require.NoError(t, err)
	return s
}

// clock is a controllable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

type fixture struct {
	r     *Registry
	clock *clock
	store memStore
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), store: newMemStore()}
	r, err := New(Config{Store: f.store, Now: f.clock.Now, Logger: zerolog.Nop()})
	require.NoError(t, err)
	f.r = r
	return f
}

// tick advances the clock and sweeps, as the reaper would.
func (f *fixture) tick(d time.Duration) {
	f.r.sweep(f.clock.Advance(d))
}

func (f *fixture) status(t testing.TB, id string) string {
	t.Helper()
	for _, s := range f.r.Map().Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in.Status
			}
		}
	}
	return "absent"
}

func (f *fixture) output(t testing.TB, id string) string {
	t.Helper()
	for _, s := range f.r.Map().Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in.Output
			}
		}
	}
	return ""
}

func reg(service string) Registration {
	return Registration{Service: service, Address: "10.0.0.7", Port: 8080, AgentVersion: "test"}
}

func TestNewDefaultsAndBounds(t *testing.T) {
	store := newMemStore()
	r, err := New(Config{Store: store})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, r.HeartbeatInterval())
	assert.Equal(t, 6*time.Second, r.TTL())
	assert.Equal(t, 30*time.Second, r.DeregisterCriticalAfter())

	r, err = New(Config{Store: store, DeregisterCriticalAfter: time.Second})
	require.NoError(t, err, "values down to 1s are accepted")
	assert.Equal(t, time.Second, r.DeregisterCriticalAfter())

	_, err = New(Config{Store: store, DeregisterCriticalAfter: 999 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deregister-critical-after must be at least 1s")
	assert.Contains(t, err.Error(), "999ms")

	_, err = New(Config{Store: store, DeregisterCriticalAfter: -time.Second})
	require.Error(t, err)

	_, err = New(Config{Store: store, Heartbeat: 5 * time.Second, TTL: 2 * time.Second})
	require.ErrorContains(t, err, "ttl")

	_, err = New(Config{})
	require.ErrorContains(t, err, "store")
}

func TestRegisterIsIdempotentAndReplaces(t *testing.T) {
	f := newFixture(t)
	i0 := f.r.Index()
	reply, err := f.r.Register("a-1", reg("news"))
	require.NoError(t, err)
	assert.Equal(t, "a-1", reply.ID)
	assert.Equal(t, Duration(2*time.Second), reply.HeartbeatInterval)
	assert.Equal(t, Duration(6*time.Second), reply.TTL)
	assert.Equal(t, Duration(30*time.Second), reply.DeregisterCriticalAfter)
	assert.Greater(t, f.r.Index(), i0)
	assert.Equal(t, StatusPassing, f.status(t, "a-1"))

	again := reg("news")
	again.Port = 9090
	again.Labels = map[string]string{"pool": "gold"}
	_, err = f.r.Register("a-1", again)
	require.NoError(t, err)
	assert.Equal(t, 1, f.r.Len(), "re-registering replaces")
	m := f.r.Map()
	require.Len(t, m.Services, 1)
	require.Len(t, m.Services[0].Instances, 1)
	assert.Equal(t, 9090, m.Services[0].Instances[0].Port)
	assert.Equal(t, map[string]string{"pool": "gold"}, m.Services[0].Instances[0].Labels)

	// The registry keeps its own copy of the labels.
	again.Labels["pool"] = "changed"
	assert.Equal(t, "gold", f.r.Map().Services[0].Instances[0].Labels["pool"])
}

func TestRegisterTTLIsBounded(t *testing.T) {
	f := newFixture(t)
	r := reg("news")
	r.TTL = Duration(100 * time.Millisecond)
	reply, err := f.r.Register("short", r)
	require.NoError(t, err)
	assert.Equal(t, Duration(MinTTL), reply.TTL)
	assert.Equal(t, Duration(MinTTL/3), reply.HeartbeatInterval, "the interval keeps an instance alive within its TTL")

	r.TTL = Duration(48 * time.Hour)
	reply, err = f.r.Register("long", r)
	require.NoError(t, err)
	assert.Equal(t, Duration(MaxTTL), reply.TTL)
	assert.Equal(t, Duration(2*time.Second), reply.HeartbeatInterval)
}

func TestTTLExpiryTurnsCriticalThenRemoves(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)

	f.tick(5 * time.Second)
	assert.Equal(t, StatusPassing, f.status(t, "a"), "still within its TTL")
	idx := f.r.Index()

	f.tick(time.Second) // 6s without a heartbeat
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	assert.Equal(t, OutputTTLExpired, f.output(t, "a"))
	assert.Greater(t, f.r.Index(), idx, "turning critical changes the map")

	idx = f.r.Index()
	f.tick(29 * time.Second)
	assert.Equal(t, StatusCritical, f.status(t, "a"), "not yet critical for 30s")
	assert.Equal(t, idx, f.r.Index(), "nothing changed")

	f.tick(time.Second)
	assert.Equal(t, "absent", f.status(t, "a"), "removed after 30s critical")
	assert.Greater(t, f.r.Index(), idx)
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	assert.ErrorIs(t, err, ErrUnknown)

	s := f.r.Stats()
	assert.Equal(t, uint64(1), s.Expirations)
	assert.Equal(t, uint64(1), s.Removals)
}

func TestHeartbeatBringsCriticalBackToPassing(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	f.tick(7 * time.Second)
	require.Equal(t, StatusCritical, f.status(t, "a"))

	f.tick(20 * time.Second)
	reply, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing, Output: "ok"})
	require.NoError(t, err)
	assert.Nil(t, reply.Placement, "the placement did not change")
	assert.Equal(t, StatusPassing, f.status(t, "a"))
	assert.Equal(t, "ok", f.output(t, "a"))

	// The critical clock starts again: 25s later, with heartbeats, it is still there.
	for range 5 {
		f.tick(5 * time.Second)
		_, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
		require.NoError(t, err)
	}
	assert.Equal(t, StatusPassing, f.status(t, "a"))
}

func TestCriticalHealthRemovedAfterDeregisterCriticalAfter(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	beat := func(status string) {
		t.Helper()
		_, err := f.r.Heartbeat("a", Heartbeat{Status: status, Output: "check says " + status})
		require.NoError(t, err)
	}
	beat(StatusCritical)
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	for range 14 { // 28s of critical heartbeats: still there
		f.tick(2 * time.Second)
		beat(StatusCritical)
	}
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(2 * time.Second)
	assert.Equal(t, "absent", f.status(t, "a"), "critical continuously for 30s, heartbeats or not")
}

func TestWarningAndStatusChangesBumpIndexOnlyOnChange(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	idx := f.r.Index()

	for range 3 {
		f.tick(time.Second)
		_, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing, Output: "fine"})
		require.NoError(t, err)
	}
	assert.Equal(t, idx, f.r.Index(), "heartbeats that change nothing leave the index alone")

	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusWarning, Output: "slow"})
	require.NoError(t, err)
	assert.Equal(t, StatusWarning, f.status(t, "a"))
	assert.Equal(t, "slow", f.output(t, "a"))
	assert.Equal(t, idx+1, f.r.Index())

	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusWarning, Output: "still slow"})
	require.NoError(t, err)
	assert.Equal(t, idx+1, f.r.Index(), "an output-only change does not wake watchers")
	assert.Equal(t, "still slow", f.output(t, "a"), "but the map shows it")

	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, idx+2, f.r.Index())

	f.tick(time.Second) // a sweep that changes nothing
	assert.Equal(t, idx+2, f.r.Index())
}

func TestDrain(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	idx := f.r.Index()
	require.NoError(t, f.r.Drain("a"))
	assert.Equal(t, StatusDraining, f.status(t, "a"))
	assert.Equal(t, idx+1, f.r.Index())
	assert.Empty(t, f.r.Map().Services[0].Passing(), "out of the passing set")

	require.NoError(t, f.r.Drain("a"))
	assert.Equal(t, idx+1, f.r.Index(), "draining twice changes nothing")

	// Heartbeats keep it draining, whatever the check says.
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, StatusDraining, f.status(t, "a"))
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusCritical})
	require.NoError(t, err)
	assert.Equal(t, StatusDraining, f.status(t, "a"))

	// TTL expiry ends it: critical, then removed.
	f.tick(6 * time.Second)
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(30 * time.Second)
	assert.Equal(t, "absent", f.status(t, "a"))

	assert.ErrorIs(t, f.r.Drain("a"), ErrUnknown)
}

func TestDeregister(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	idx := f.r.Index()
	require.NoError(t, f.r.Deregister("a"))
	assert.Equal(t, "absent", f.status(t, "a"))
	assert.Equal(t, idx+1, f.r.Index())
	assert.ErrorIs(t, f.r.Deregister("a"), ErrUnknown)
	assert.Equal(t, idx+1, f.r.Index())
	assert.Equal(t, uint64(1), f.r.Stats().Deregistrations)
}

func TestHeartbeatUnknown(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Heartbeat("nobody", Heartbeat{Status: StatusPassing})
	assert.ErrorIs(t, err, ErrUnknown)
	assert.Equal(t, "unknown instance: register again", err.Error())
}

func TestWaitWakesOnChange(t *testing.T) {
	f := newFixture(t)
	idx := f.r.Index()
	got := make(chan uint64, 1)
	go func() {
		n, err := f.r.Wait(context.Background(), idx)
		assert.NoError(t, err)
		got <- n
	}()
	select {
	case <-got:
		t.Fatal("Wait returned before any change")
	case <-time.After(50 * time.Millisecond):
	}
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	select {
	case n := <-got:
		assert.Equal(t, idx+1, n)
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not wake on a registration")
	}

	// An index already passed answers at once.
	n, err := f.r.Wait(context.Background(), idx-1)
	require.NoError(t, err)
	assert.Equal(t, idx+1, n)

	// A quiet registry times out with the same index.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	n, err = f.r.Wait(ctx, idx+1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, idx+1, n)
}

func TestRunFollowsCompositionAndStopsWaiters(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx) }()

	idx := f.r.Index()
	woke := make(chan uint64, 1)
	go func() {
		n, _ := f.r.Wait(context.Background(), idx)
		woke <- n
	}()
	f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "News", SystemName: "news"})
	})
	select {
	case n := <-woke:
		assert.Greater(t, n, idx, "a new revision changes the map")
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up on a composition revision")
	}
	m := f.r.Map()
	assert.Equal(t, uint64(1), m.Revision)
	require.Len(t, m.Services, 1)
	assert.Equal(t, "news", m.Services[0].Name)
	assert.NotZero(t, m.Services[0].ID)
	require.Len(t, m.Services[0].Instances, 1, "the instance moved under the service the composition now has")

	blocked := make(chan error, 1)
	go func() {
		_, err := f.r.Wait(context.Background(), f.r.Index())
		blocked <- err
	}()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	select {
	case err := <-blocked:
		assert.ErrorIs(t, err, ErrStopped)
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked Wait was not released when Run ended")
	}
	assert.Error(t, f.r.Run(context.Background()), "Run runs once")
}

func TestRunReapsOnItsOwn(t *testing.T) {
	store := newMemStore()
	r, err := New(Config{Store: store, Heartbeat: 100 * time.Millisecond, TTL: 300 * time.Millisecond,
		DeregisterCriticalAfter: time.Second, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	rg := reg("news")
	rg.TTL = Duration(time.Second)
	_, err = r.Register("a", rg)
	require.NoError(t, err)
	start := time.Now()
	require.Eventually(t, func() bool { return r.Stats().Instances[StatusCritical] == 1 }, 3*time.Second, 5*time.Millisecond)
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "critical soon after its TTL")
	require.Eventually(t, func() bool { return r.Len() == 0 }, 3*time.Second, 5*time.Millisecond)
}

func TestHeartbeatReplyCarriesPlacementOnlyWhenChanged(t *testing.T) {
	f := newFixture(t)
	svc := &composition.Service{Name: "News", SystemName: "news"}
	f.store.write(t, func(tx *composition.Tx) error { return tx.Create(svc) })
	basic := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Basic", SystemName: "basic"}
	gold := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Gold", SystemName: "gold"}
	f.store.write(t, func(tx *composition.Tx) error {
		if err := tx.Create(basic); err != nil {
			return err
		}
		return tx.Create(gold)
	})

	rg := reg("news")
	rg.Labels = map[string]string{"pool": "gold"}
	reply, err := f.r.Register("a", rg)
	require.NoError(t, err)
	assert.Equal(t, "news", reply.Placement.Service)
	assert.Len(t, reply.Placement.Plans, 2)
	assert.Equal(t, f.store.Snapshot().Revision, reply.Revision)

	hb, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Nil(t, hb.Placement)

	// A write that does not move the instance: new revision, no placement.
	snap := f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Other", SystemName: "other"})
	})
	hb, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing, Revision: snap.Revision - 1})
	require.NoError(t, err)
	assert.Equal(t, snap.Revision, hb.Revision)
	assert.Nil(t, hb.Placement, "same content, only the revision moved")

	// A placement picking gold instances: the next heartbeat carries it, once.
	snap = f.store.write(t, func(tx *composition.Tx) error {
		return tx.Create(&composition.Placement{Name: "gold-pool", ServiceID: svc.ID, PlanIDs: []int64{gold.ID},
			Selector: composition.Selector{Service: "news", Labels: map[string]string{"pool": "gold"}}})
	})
	hb, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	require.NotNil(t, hb.Placement)
	assert.Equal(t, []PlanRef{{ID: gold.ID, SystemName: "gold", Name: "Gold"}}, hb.Placement.Plans)
	assert.Equal(t, []string{"gold-pool"}, hb.Placement.Placements)
	assert.Equal(t, snap.Revision, hb.Placement.Revision)

	hb, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Nil(t, hb.Placement, "told once")
}

func TestValidation(t *testing.T) {
	f := newFixture(t)
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'x'
		}
		return string(b)
	}
	manyLabels := map[string]string{}
	for i := range MaxLabels + 1 {
		manyLabels[long(i+1)] = "v"
	}
	cases := []struct {
		name  string
		id    string
		edit  func(*Registration)
		field string
	}{
		{"empty id", "", nil, "id"},
		{"long id", long(MaxIDLen + 1), nil, "id"},
		{"bad id char", "a/b", nil, "id"},
		{"bad id space", "a b", nil, "id"},
		{"no service", "ok", func(r *Registration) { r.Service = "" }, "service"},
		{"bad service", "ok", func(r *Registration) { r.Service = "news api!" }, "service"},
		{"no address", "ok", func(r *Registration) { r.Address = "" }, "address"},
		{"bad address", "ok", func(r *Registration) { r.Address = "not an address" }, "address"},
		{"bad hostname label", "ok", func(r *Registration) { r.Address = "-bad.example" }, "address"},
		{"negative port", "ok", func(r *Registration) { r.Port = -1 }, "port"},
		{"port too big", "ok", func(r *Registration) { r.Port = 65536 }, "port"},
		{"too many labels", "ok", func(r *Registration) { r.Labels = manyLabels }, "labels"},
		{"long label key", "ok", func(r *Registration) { r.Labels = map[string]string{long(MaxLabelLen + 1): "v"} }, "labels"},
		{"long label value", "ok", func(r *Registration) { r.Labels = map[string]string{"k": long(MaxLabelLen + 1)} }, "labels"},
		{"empty label key", "ok", func(r *Registration) { r.Labels = map[string]string{"": "v"} }, "labels"},
		{"bad status", "ok", func(r *Registration) { r.Status = "draining" }, "status"},
		{"long output", "ok", func(r *Registration) { r.Output = long(MaxOutputLen + 1) }, "output"},
		{"negative ttl", "ok", func(r *Registration) { r.TTL = -1 }, "ttl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reg("news")
			if c.edit != nil {
				c.edit(&r)
			}
			_, err := f.r.Register(c.id, r)
			var fe *composition.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.field, fe.Field, err.Error())
		})
	}
	assert.Equal(t, 0, f.r.Len())

	ok := []struct{ id, addr string }{
		{"news-7f3a.host_1:abc", "10.0.0.1"}, {"x", "::1"}, {"y", "news-api"}, {"z", "news_api.svc.cluster.local."},
		{long(MaxIDLen), "fe80::1%eth0"},
	}
	for _, c := range ok {
		r := reg("news/v1")
		r.Address = c.addr
		r.Labels = map[string]string{"k": long(MaxLabelLen)}
		_, err := f.r.Register(c.id, r)
		assert.NoError(t, err, "%s at %s", c.id, c.addr)
	}

	_, err := f.r.Heartbeat("x", Heartbeat{})
	var fe *composition.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "status", fe.Field)
	_, err = f.r.Heartbeat("x", Heartbeat{Status: "draining"})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "status", fe.Field)
	_, err = f.r.Heartbeat("x", Heartbeat{Status: StatusPassing, Output: long(MaxOutputLen + 1)})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "output", fe.Field)
	require.ErrorAs(t, f.r.Drain("a b"), &fe)
	require.ErrorAs(t, f.r.Deregister(""), &fe)
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b", "c", "d"} {
		_, err := f.r.Register(id, reg("news"))
		require.NoError(t, err)
	}
	_, err := f.r.Heartbeat("b", Heartbeat{Status: StatusWarning})
	require.NoError(t, err)
	_, err = f.r.Heartbeat("c", Heartbeat{Status: StatusCritical})
	require.NoError(t, err)
	require.NoError(t, f.r.Drain("d"))
	s := f.r.Stats()
	assert.Equal(t, map[string]int{StatusPassing: 1, StatusWarning: 1, StatusCritical: 1, StatusDraining: 1}, s.Instances)
	assert.Equal(t, uint64(4), s.Registrations)
	assert.Equal(t, uint64(2), s.Heartbeats)
	assert.Equal(t, f.r.Index(), s.Index)
}
