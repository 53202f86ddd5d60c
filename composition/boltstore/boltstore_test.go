package boltstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/internal/testenv"
)

func open(t testing.TB, dir string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(dir)
	require.NoError(t, err)
	return s
}

func update(t testing.TB, s composition.Store, fn func(*composition.Tx) error) *composition.Snapshot {
	t.Helper()
	snap, err := s.Update(context.Background(), fn)
	require.NoError(t, err)
	return snap
}

func create(t testing.TB, tx *composition.Tx, e composition.Entity) {
	t.Helper()
	require.NoError(t, tx.Create(e))
}

// entities returns every entity of c by kind and id.
func entities(c *composition.Composition) map[composition.Kind]map[int64]composition.Entity {
	out := map[composition.Kind]map[int64]composition.Entity{}
	for _, k := range composition.Kinds {
		out[k] = map[int64]composition.Entity{}
		c.Each(k, func(e composition.Entity) { out[k][e.Key()] = e })
	}
	return out
}

// requireSameComposition asserts b holds exactly what a holds.
func requireSameComposition(t *testing.T, a, b *composition.Composition) {
	t.Helper()
	require.Equal(t, a.Revision, b.Revision)
	require.Equal(t, a.LastID, b.LastID)
	ea, eb := entities(a), entities(b)
	for _, k := range composition.Kinds {
		require.Len(t, eb[k], len(ea[k]), "number of %s", k)
		for id, e := range ea[k] {
			require.Equal(t, e, eb[k][id], "%s %d", k, id)
		}
	}
}

type richIDs struct {
	news, weather, backend, newsHits, bytes, rule, plan, gold, account, user, app int64
}

// buildRich writes a composition that uses every kind of entity.
func buildRich(t testing.TB, tx *composition.Tx) richIDs {
	t.Helper()
	var ids richIDs
	news := &composition.Service{Name: "News API", Description: "news"}
	create(t, tx, news)
	weather := &composition.Service{Name: "Weather API", BackendVersion: "2"}
	create(t, tx, weather)
	hits, _ := tx.View().Hits(composition.OwnerService, news.ID)
	wHits, _ := tx.View().Hits(composition.OwnerService, weather.ID)
	method := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: news.ID, ParentID: hits.ID, FriendlyName: "Get news"}
	bytes := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: news.ID, FriendlyName: "Bytes", Unit: "byte"}
	create(t, tx, method)
	create(t, tx, bytes)
	backend := &composition.BackendAPI{Name: "Articles", PrivateEndpoint: "http://articles.internal"}
	create(t, tx, backend)
	bHits, _ := tx.View().Hits(composition.OwnerBackendAPI, backend.ID)
	create(t, tx, &composition.BackendUsage{ServiceID: news.ID, BackendAPIID: backend.ID, Path: "/articles"})
	rule := &composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: news.ID, MetricID: method.ID, HTTPMethod: "GET", Pattern: "/news/{id}$", Delta: 1}
	create(t, tx, rule)
	create(t, tx, &composition.MappingRule{OwnerType: composition.OwnerBackendAPI, OwnerID: backend.ID, MetricID: bHits.ID, HTTPMethod: "ANY", Pattern: "/", Delta: 2, Last: true})
	create(t, tx, &composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: weather.ID, MetricID: wHits.ID, HTTPMethod: "GET", Pattern: "/forecast?city={c}", Delta: 1})
	plan := &composition.ApplicationPlan{ServiceID: news.ID, Name: "Basic", Default: true, State: composition.PlanPublished}
	gold := &composition.ApplicationPlan{ServiceID: news.ID, Name: "Gold", CostPerMonth: "49.99"}
	free := &composition.ApplicationPlan{ServiceID: weather.ID, Name: "Free"}
	create(t, tx, plan)
	create(t, tx, gold)
	create(t, tx, free)
	create(t, tx, &composition.UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: "day", Value: 100})
	create(t, tx, &composition.UsageLimit{PlanID: gold.ID, MetricID: bHits.ID, Period: "month", Value: 1000})
	create(t, tx, &composition.PricingRule{PlanID: gold.ID, MetricID: bytes.ID, CostPerUnit: "0.001", Min: 1, Max: 500})
	px, _ := tx.View().Proxies.Get(news.ID)
	pxu := *px
	pxu.Endpoint = "https://news.example.com"
	pxu.PolicyChain = append([]composition.PolicyConfig{{Name: "cors", Version: "builtin", Configuration: json.RawMessage(`{"allow_origin":"*"}`), Enabled: true}}, px.PolicyChain...)
	require.NoError(t, tx.Update(&pxu))
	create(t, tx, &composition.ProxyConfig{ServiceID: news.ID, Environment: composition.EnvProduction, Version: 3, Content: json.RawMessage(`{"a":[1,2]}`)})
	create(t, tx, &composition.ActiveDoc{ServiceID: news.ID, Name: "News spec", Body: `{"openapi":"3.1.0"}`, Published: true})
	partners := &composition.AccountPlan{Name: "Partners", State: composition.PlanPublished, Default: true, CostPerMonth: "10"}
	create(t, tx, partners)
	acc := &composition.Account{OrgName: "ACME", BillingAddress: map[string]string{"country": "ES"}}
	create(t, tx, acc)
	require.Equal(t, partners.ID, acc.PlanID, "a new account is on the default account plan")
	user := &composition.User{AccountID: acc.ID, Username: "alice", Email: "alice@acme.example", Password: "pw"}
	create(t, tx, user)
	app := &composition.Application{AccountID: acc.ID, PlanID: plan.ID, Name: "Reader"}
	create(t, tx, app)
	create(t, tx, &composition.Application{AccountID: acc.ID, PlanID: free.ID, Name: "Weather app"})
	create(t, tx, &composition.RegistryPolicy{Name: "my-policy", Version: "1.0", Schema: json.RawMessage(`{"type":"object"}`)})
	create(t, tx, &composition.Placement{Selector: composition.Selector{Service: "news", Labels: map[string]string{"tier": "gold"}}, ServiceID: news.ID, PlanIDs: []int64{gold.ID}})
	create(t, tx, &composition.AccessToken{Name: "CI", Scopes: []string{composition.ScopeStats}, Permission: composition.PermissionRO, Digest: composition.TokenDigest("ci-token")})
	sla := &composition.Feature{OwnerType: composition.OwnerService, OwnerID: news.ID, Name: "SLA", Visible: true}
	create(t, tx, sla)
	_, err := tx.EnableFeature(sla.ID, gold.ID)
	require.NoError(t, err)
	forum := &composition.Feature{OwnerType: composition.OwnerAccount, OwnerID: composition.ProviderAccountID, Name: "Forum", Visible: true}
	create(t, tx, forum)
	_, err = tx.EnableFeature(forum.ID, partners.ID)
	require.NoError(t, err)
	create(t, tx, composition.DefaultSettings())
	staff := &composition.User{AccountID: composition.ProviderAccountID, Username: "staff", Email: "staff@provider.example",
		AllowedSections: []string{"partners"}, AllowedServiceIDs: &[]int64{news.ID}}
	create(t, tx, staff)
	create(t, tx, &composition.FieldsDefinition{Target: "User", Name: "phone", Label: "Phone"})
	create(t, tx, &composition.NotificationPreferences{UserID: staff.ID, Preferences: map[string]bool{"daily_report": true}})
	premium := &composition.ServicePlan{ServiceID: news.ID, Name: "Premium", ApprovalRequired: true}
	create(t, tx, premium)
	create(t, tx, &composition.ServiceContract{AccountID: acc.ID, PlanID: premium.ID})
	create(t, tx, &composition.WebHook{URL: "https://hooks.example.com/3scale", Active: true, AccountCreatedOn: true})
	create(t, tx, &composition.WebHookEvent{Type: "account", Action: "created", URL: "https://hooks.example.com/3scale", XML: "<event/>"})
	create(t, tx, &composition.WebHookFailure{UUID: "f-1", Error: "503 Service Unavailable", URL: "https://hooks.example.com/3scale", Event: "<event/>"})
	create(t, tx, &composition.AuthenticationProvider{Kind: "keycloak", AccountType: composition.AuthProviderProvider,
		ClientID: "portolan", ClientSecret: "kc-secret", Site: "https://sso.example/auth/realms/acme"})
	create(t, tx, &composition.Message{AccountID: acc.ID, Subject: "Welcome", Body: "Hello"})
	ids = richIDs{news: news.ID, weather: weather.ID, backend: backend.ID, newsHits: hits.ID, bytes: bytes.ID,
		rule: rule.ID, plan: plan.ID, gold: gold.ID, account: acc.ID, user: user.ID, app: app.ID}
	return ids
}

func TestWritesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	assert.EqualValues(t, 0, s.Snapshot().Revision)
	assert.Equal(t, composition.ProviderAccountID, s.Snapshot().LastID)

	var ids richIDs
	update(t, s, func(tx *composition.Tx) error { ids = buildRich(t, tx); return nil })
	// A few more revisions that update entities in place.
	update(t, s, func(tx *composition.Tx) error {
		svc, _ := tx.View().Services.Get(ids.news)
		n := *svc
		n.Description = "updated"
		return tx.Update(&n)
	})
	update(t, s, func(tx *composition.Tx) error {
		return tx.Create(&composition.ApplicationPlan{ServiceID: ids.news, Name: "Platinum", Default: true})
	})
	want := s.Snapshot()
	require.EqualValues(t, 3, want.Revision)
	for _, k := range composition.Kinds {
		require.NotZero(t, len(entities(want)[k]), "the test composition has %s", k)
	}
	require.NoError(t, s.Close())

	s = open(t, dir)
	got := s.Snapshot()
	requireSameComposition(t, want, got)
	svc, _ := got.Services.Get(ids.news)
	assert.Equal(t, "updated", svc.Description)
	basic, _ := got.ApplicationPlans.Get(ids.plan)
	assert.False(t, basic.Default)

	// The reopened store keeps writing from where it was, with fresh ids.
	next := update(t, s, func(tx *composition.Tx) error { return tx.Create(&composition.Account{OrgName: "Later"}) })
	assert.EqualValues(t, 4, next.Revision)
	assert.Equal(t, want.LastID+1, next.LastID)
	require.NoError(t, s.Close())

	s = open(t, dir)
	defer s.Close()
	requireSameComposition(t, next, s.Snapshot())
}

func TestFailedWriteLeavesDiskUntouched(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var ids richIDs
	update(t, s, func(tx *composition.Tx) error { ids = buildRich(t, tx); return nil })
	want := s.Snapshot()

	boom := errors.New("boom")
	_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		for i := range 20 {
			create(t, tx, &composition.Service{Name: fmt.Sprintf("Doomed %d", i)})
		}
		require.NoError(t, tx.Delete(composition.KindAccount, ids.account))
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Update(context.Background(), func(tx *composition.Tx) error {
		create(t, tx, &composition.Account{OrgName: "Fine"})
		return tx.Create(&composition.Service{Name: "News API"}) // system_name taken
	})
	var ve *composition.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Same(t, want, s.Snapshot())
	require.NoError(t, s.Close())

	s = open(t, dir)
	defer s.Close()
	requireSameComposition(t, want, s.Snapshot())
	assert.EqualValues(t, 1, s.Snapshot().Revision)
}

func TestOpenLockedByAnotherStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	update(t, s, func(tx *composition.Tx) error { return tx.Create(&composition.Account{OrgName: "ACME"}) })

	start := time.Now()
	other, err := boltstore.Open(dir)
	require.Error(t, err)
	assert.Nil(t, other)
	assert.Contains(t, err.Error(), "locked")
	assert.Contains(t, err.Error(), boltstore.FileName)
	assert.Less(t, time.Since(start), 10*time.Second, "Open fails fast")

	// The holder is unaffected, and once it closes the file opens.
	update(t, s, func(tx *composition.Tx) error { return tx.Create(&composition.Account{OrgName: "Globex"}) })
	require.NoError(t, s.Close())
	s = open(t, dir)
	defer s.Close()
	assert.EqualValues(t, 2, s.Snapshot().Revision)
}

func TestDeletesPersist(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var ids richIDs
	update(t, s, func(tx *composition.Tx) error { ids = buildRich(t, tx); return nil })
	before := s.Snapshot()

	update(t, s, func(tx *composition.Tx) error { return tx.Delete(composition.KindMappingRule, ids.rule) })
	update(t, s, func(tx *composition.Tx) error { return tx.Delete(composition.KindMetric, ids.bytes) })
	update(t, s, func(tx *composition.Tx) error { return tx.Delete(composition.KindUser, ids.user) })
	afterSmall := s.Snapshot()
	update(t, s, func(tx *composition.Tx) error { return tx.Delete(composition.KindService, ids.news) })
	want := s.Snapshot()
	require.EqualValues(t, 5, want.Revision)
	require.NoError(t, s.Close())

	s = open(t, dir)
	defer s.Close()
	got := s.Snapshot()
	requireSameComposition(t, want, got)

	_, ok := got.MappingRules.Get(ids.rule)
	assert.False(t, ok)
	_, ok = got.Metrics.Get(ids.bytes)
	assert.False(t, ok)
	_, ok = got.Users.Get(ids.user)
	assert.False(t, ok)
	_, ok = afterSmall.Services.Get(ids.news)
	assert.True(t, ok)

	// The service and everything that belonged to it are gone from disk.
	_, ok = got.Services.Get(ids.news)
	assert.False(t, ok)
	_, ok = got.Proxies.Get(ids.news)
	assert.False(t, ok)
	assert.Empty(t, got.MetricsOf(composition.OwnerService, ids.news))
	assert.Empty(t, got.MappingRulesOf(composition.OwnerService, ids.news))
	assert.Empty(t, got.PlansOf(ids.news))
	assert.Zero(t, got.Placements.Len())
	assert.Zero(t, got.ProxyConfigs.Len())
	assert.Zero(t, got.BackendUsages.Len())
	for _, a := range got.Applications.All() {
		assert.NotEqual(t, ids.news, a.ServiceID)
	}
	for _, d := range got.ActiveDocs.All() {
		assert.Zero(t, d.ServiceID, "active docs are unbound, not deleted")
	}
	assert.Equal(t, before.ActiveDocs.Len(), got.ActiveDocs.Len())
	// What did not belong to it stays.
	_, ok = got.Services.Get(ids.weather)
	assert.True(t, ok)
	_, ok = got.BackendAPIs.Get(ids.backend)
	assert.True(t, ok)
	_, ok = got.Accounts.Get(ids.account)
	assert.True(t, ok)
}

// The crash test runs this test as a child process; it writes until killed.
const crashDirEnv = "PORTOLAN_BOLTSTORE_CRASH_DIR"

// crashSystemName is the system_name of the service the write of revision rev creates.
func crashSystemName(rev uint64) string { return fmt.Sprintf("svc_%d", rev) }

func TestHelperWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedWrites")
	}
	s, err := boltstore.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(2 * time.Minute) // never outlive a parent that died
	for time.Now().Before(deadline) {
		snap, err := s.Update(context.Background(), func(tx *composition.Tx) error {
			rev := tx.View().Revision + 1
			svc := &composition.Service{Name: fmt.Sprintf("Crash %d", rev), SystemName: crashSystemName(rev)}
			if err := tx.Create(svc); err != nil {
				return err
			}
			hits, _ := tx.View().Hits(composition.OwnerService, svc.ID)
			m := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID, ParentID: hits.ID, FriendlyName: "Get"}
			if err := tx.Create(m); err != nil {
				return err
			}
			return tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: svc.ID,
				MetricID: m.ID, HTTPMethod: "GET", Pattern: "/", Delta: 1})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
			os.Exit(3)
		}
		// Acknowledge only after Update returned, and make the ack visible at once.
		fmt.Fprintln(out, snap.Revision)
		if err := out.Flush(); err != nil {
			os.Exit(4)
		}
	}
	os.Exit(0)
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process")
	}
	dir := t.TempDir()
	// Something already on disk before the writer starts.
	s := open(t, dir)
	update(t, s, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Pre-existing", SystemName: crashSystemName(1)})
	})
	require.NoError(t, s.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stderr := &testenv.SyncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	acks := make(chan uint64, 64)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if n, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64); err == nil {
				acks <- n
			}
		}
	}()

	var acked []uint64
	timeout := time.After(90 * time.Second)
	for len(acked) < 50 {
		select {
		case n, ok := <-acks:
			require.True(t, ok, "writer stopped after %d acks: %s", len(acked), stderr.String())
			acked = append(acked, n)
		case <-timeout:
			t.Fatalf("only %d acks in 90s", len(acked))
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	// Acks already in the pipe were acknowledged before the kill too.
	for n := range acks {
		acked = append(acked, n)
	}
	err = cmd.Wait()
	killed = true
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the writer was killed, stderr: %s", stderr.String())
	assert.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal())

	for i := 1; i < len(acked); i++ {
		require.Equal(t, acked[i-1]+1, acked[i], "acks are consecutive revisions")
	}
	require.EqualValues(t, 2, acked[0])
	last := acked[len(acked)-1]
	t.Logf("writer acknowledged revisions %d..%d before SIGKILL", acked[0], last)

	s = open(t, dir)
	defer s.Close()
	snap := s.Snapshot()
	// One service a revision: the revisions stored. After a crash the
	// store resumes above every revision it may have published (floor.go).
	stored := uint64(snap.Services.Len())
	require.GreaterOrEqual(t, stored, last, "an acknowledged write was lost")
	assert.Greater(t, snap.Revision, stored, "resumed above what the writer may have published")
	for _, rev := range acked {
		_, ok := snap.ServiceBySystemName(crashSystemName(rev))
		assert.True(t, ok, "service of acknowledged revision %d is missing", rev)
	}
	// Every revision on disk is whole: each with all that its write created.
	for rev := uint64(2); rev <= stored; rev++ {
		svc, ok := snap.ServiceBySystemName(crashSystemName(rev))
		require.True(t, ok, "revision %d's service", rev)
		_, ok = snap.Hits(composition.OwnerService, svc.ID)
		assert.True(t, ok, "revision %d's hits", rev)
		_, ok = snap.Proxies.Get(svc.ID)
		assert.True(t, ok, "revision %d's proxy", rev)
		assert.Len(t, snap.MetricsOf(composition.OwnerService, svc.ID), 2, "revision %d's metrics", rev)
		assert.Len(t, snap.MappingRulesOf(composition.OwnerService, svc.ID), 1, "revision %d's rule", rev)
	}
	var maxID int64
	for _, k := range composition.Kinds {
		snap.Each(k, func(e composition.Entity) { maxID = max(maxID, e.Key()) })
	}
	assert.GreaterOrEqual(t, snap.LastID, maxID, "LastID was stored with the revision")

	next := update(t, s, func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "After crash"})
	})
	assert.Equal(t, snap.Revision+1, next.Revision)
	assert.Greater(t, next.LastID, snap.LastID)
}
