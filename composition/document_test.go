package composition

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// richSecrets are the credentials buildRich creates, to look for in exports.
type richSecrets struct {
	userKeys, appKeys, appIDs, passwords, secretTokens []string
}

// buildRich fills tx with a composition that uses every kind of entity and
// every kind of reference.
func buildRich(t testing.TB, tx *Tx) richSecrets {
	t.Helper()
	news, newsHits := createService(t, tx, "News API", "1")
	weather, weatherHits := createService(t, tx, "Weather API", "2")
	upd := *weather
	upd.Description, upd.SupportEmail, upd.BuyersManageApps = "Forecasts", "help@example.com", true
	require.NoError(t, tx.Update(&upd))

	backend, backendHits := createBackend(t, tx, "Articles backend")
	getArticle := createMetric(t, tx, OwnerBackendAPI, backend.ID, backendHits.ID, "Get article")
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: news.ID, BackendAPIID: backend.ID, Path: "/articles"}))
	createRule(t, tx, OwnerBackendAPI, backend.ID, getArticle.ID, "GET", "/{id}", 1, 0, false)
	createRule(t, tx, OwnerBackendAPI, backend.ID, backendHits.ID, "ANY", "/", 1, 0, false)

	getNews := createMetric(t, tx, OwnerService, news.ID, newsHits.ID, "Get news")
	bytes := &Metric{OwnerType: OwnerService, OwnerID: news.ID, FriendlyName: "Bytes", Unit: "byte", Description: "payload"}
	require.NoError(t, tx.Create(bytes))
	createRule(t, tx, OwnerService, news.ID, getNews.ID, "GET", "/news$", 1, 0, false)
	createRule(t, tx, OwnerService, news.ID, bytes.ID, "POST", "/news?lang={lang}", 10, 0, true)
	createRule(t, tx, OwnerService, weather.ID, weatherHits.ID, "GET", "/forecast/{city}", 2, 0, false)

	basic := &ApplicationPlan{ServiceID: news.ID, Name: "Basic", State: PlanPublished, Default: true}
	require.NoError(t, tx.Create(basic))
	gold := &ApplicationPlan{ServiceID: news.ID, Name: "Gold", CostPerMonth: 99.5, SetupFee: 10, TrialPeriodDays: 30}
	require.NoError(t, tx.Create(gold))
	free := createPlan(t, tx, weather.ID, "Free", true)
	for _, e := range []Entity{
		&UsageLimit{PlanID: basic.ID, MetricID: newsHits.ID, Period: "day", Value: 1000},
		&UsageLimit{PlanID: basic.ID, MetricID: backendHits.ID, Period: "month", Value: 50000},
		&UsageLimit{PlanID: gold.ID, MetricID: getNews.ID, Period: "minute", Value: 60},
		&UsageLimit{PlanID: free.ID, MetricID: weatherHits.ID, Period: "eternity", Value: 0},
		&PricingRule{PlanID: gold.ID, MetricID: bytes.ID, CostPerUnit: "0.01", Min: 1, Max: 1000},
		&PricingRule{PlanID: gold.ID, MetricID: getArticle.ID, CostPerUnit: "0.5", Min: 1001},
	} {
		require.NoError(t, tx.Create(e))
	}

	px, _ := tx.View().Proxies.Get(news.ID)
	pxu := *px
	pxu.Endpoint, pxu.APIBackend = "https://news.example.com", "http://news.internal:3000"
	pxu.CredentialsLocation = CredentialsHeaders
	pxu.PolicyChain = []PolicyConfig{
		{Name: "headers", Version: "builtin", Configuration: json.RawMessage(`{"request":[{"op":"set","header":"X-A","value":"1"}]}`), Enabled: true},
		px.PolicyChain[0],
	}
	pxu.OIDC.StandardFlowEnabled = true
	require.NoError(t, tx.Update(&pxu))
	require.NoError(t, tx.Create(&ProxyConfig{ServiceID: news.ID, Environment: EnvSandbox, Version: 1, Content: json.RawMessage(`{"proxy":{"endpoint":"https://news.example.com"}}`)}))

	standard := &AccountPlan{Name: "Standard", State: PlanPublished, Default: true, ApprovalRequired: true}
	require.NoError(t, tx.Create(standard))
	partner := &AccountPlan{Name: "Partner", CostPerMonth: 50, TrialPeriodDays: 14}
	require.NoError(t, tx.Create(partner))
	acme := &Account{OrgName: "ACME", Country: "ES", BillingAddress: map[string]string{"city": "Madrid", "zip": "28001"}}
	require.NoError(t, tx.Create(acme))
	require.Equal(t, standard.ID, acme.PlanID, "a new account is on the default account plan")
	globex := &Account{OrgName: "Globex", PlanID: partner.ID}
	require.NoError(t, tx.Create(globex))
	alice := &User{AccountID: acme.ID, Username: "alice", Email: "alice@acme.example", Password: "alice-pw", Role: RoleAdmin, State: UserActive}
	bob := &User{AccountID: globex.ID, Username: "bob", Email: "bob@globex.example", Password: "bob-pw"}
	require.NoError(t, tx.Create(alice))
	require.NoError(t, tx.Create(bob))
	a1 := createApp(t, tx, acme.ID, basic.ID, "ACME reader")
	a2 := createApp(t, tx, globex.ID, gold.ID, "Globex feed")
	a3 := &Application{AccountID: acme.ID, PlanID: free.ID, Name: "ACME weather", Description: "two keys"}
	require.NoError(t, tx.Create(a3))
	a3u := *a3
	a3u.AppKeys = append([]string{}, a3.AppKeys[0], "second-key-0123")
	require.NoError(t, tx.Update(&a3u))

	require.NoError(t, tx.Create(&ActiveDoc{ServiceID: news.ID, Name: "News spec", Published: true, Body: `{"openapi":"3.0.3","info":{"title":"News"}}`}))
	require.NoError(t, tx.Create(&ActiveDoc{Name: "Loose spec", Body: `{"swagger":"2.0"}`}))
	require.NoError(t, tx.Create(&RegistryPolicy{Name: "rate-limit-headers", Version: "1.0", Schema: json.RawMessage(`{"type":"object"}`)}))
	require.NoError(t, tx.Create(&Placement{Name: "gold pool", Selector: Selector{Service: "news", Labels: map[string]string{"tier": "gold"}}, ServiceID: news.ID, PlanIDs: []int64{gold.ID}}))
	require.NoError(t, tx.Create(&Placement{Selector: Selector{Service: "weather"}, ServiceID: weather.ID}))
	require.NoError(t, tx.Create(&AccessToken{Name: "CI", Scopes: []string{ScopeStats}, Permission: PermissionRO, Digest: TokenDigest("rich-token")}))
	sla := &Feature{OwnerType: OwnerService, OwnerID: news.ID, Name: "SLA", Visible: true}
	require.NoError(t, tx.Create(sla))
	_, err := tx.EnableFeature(sla.ID, gold.ID)
	require.NoError(t, err)
	forum := &Feature{OwnerType: OwnerAccount, OwnerID: ProviderAccountID, Name: "Forum", Visible: true}
	require.NoError(t, tx.Create(forum))
	_, err = tx.EnableFeature(forum.ID, partner.ID)
	require.NoError(t, err)
	settings := DefaultSettings()
	settings.SignupsEnabled, settings.ChangeServicePlanPermission = false, "direct"
	require.NoError(t, tx.Create(settings))
	dana := &User{AccountID: ProviderAccountID, Username: "dana", Email: "dana@provider.example", Password: "dana-pw",
		AllowedSections: []string{"monitoring", "plans"}, AllowedServiceIDs: &[]int64{news.ID}}
	require.NoError(t, tx.Create(dana))
	require.NoError(t, tx.Create(&FieldsDefinition{Target: "Account", Name: "vat_code", Label: "VAT code", Choices: []string{"ES", "FR"}}))
	require.NoError(t, tx.Create(&NotificationPreferences{UserID: dana.ID, Preferences: map[string]bool{"weekly_report": true}}))
	require.NoError(t, tx.Create(&WebHook{URL: "https://hooks.example.com/3scale", Active: true, AccountCreatedOn: true}))
	require.NoError(t, tx.Create(&WebHookEvent{Type: "account", Action: "created", URL: "https://hooks.example.com/3scale", XML: "<event/>"}))
	require.NoError(t, tx.Create(&WebHookFailure{UUID: "f-1", Error: "503 Service Unavailable", URL: "https://hooks.example.com/3scale", Event: "<event/>"}))
	premium := &ServicePlan{ServiceID: news.ID, Name: "Premium", State: PlanPublished, Default: true}
	require.NoError(t, tx.Create(premium))
	support := &Feature{OwnerType: OwnerService, OwnerID: news.ID, Name: "Support", Scope: ScopeServicePlan}
	require.NoError(t, tx.Create(support))
	_, err = tx.EnableFeature(support.ID, premium.ID)
	require.NoError(t, err)
	require.NoError(t, tx.Create(&ServiceContract{AccountID: acme.ID, PlanID: premium.ID}))
	require.NoError(t, tx.Create(&AuthenticationProvider{Kind: "keycloak", AccountType: AuthProviderProvider,
		ClientID: "portolan", ClientSecret: "kc-secret", Site: "https://sso.example/auth/realms/acme"}))
	require.NoError(t, tx.Create(&Message{AccountID: acme.ID, Subject: "Welcome", Body: "Hello"}))

	wpx, _ := tx.View().Proxies.Get(weather.ID)
	return richSecrets{
		userKeys:     []string{a1.UserKey, a2.UserKey},
		appIDs:       []string{a3.AppID},
		appKeys:      a3u.AppKeys,
		passwords:    []string{alice.Password, bob.Password, dana.Password},
		secretTokens: []string{pxu.SecretToken, wpx.SecretToken},
	}
}

// buildUnrelated adds entities that have nothing to do with buildRich's.
func buildUnrelated(t testing.TB, tx *Tx) {
	t.Helper()
	svc, hits := createService(t, tx, "Legacy", "1")
	createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/legacy", 1, 0, false)
	plan := createPlan(t, tx, svc.ID, "Legacy plan", true)
	acc := createAccount(t, tx, "Legacy Org")
	require.NoError(t, tx.Create(&User{AccountID: acc.ID, Username: "carol", Email: "carol@legacy.example"}))
	createApp(t, tx, acc.ID, plan.ID, "legacy app")
	createBackend(t, tx, "Legacy backend")
	require.NoError(t, tx.Create(&ActiveDoc{ServiceID: svc.ID, Name: "Legacy spec", Body: `{"swagger":"2.0"}`}))
	require.NoError(t, tx.Create(&RegistryPolicy{Name: "legacy", Version: "0.1", Schema: json.RawMessage(`{}`)}))
	require.NoError(t, tx.Create(&Placement{Selector: Selector{Service: "legacy"}, ServiceID: svc.ID}))
	require.NoError(t, tx.Create(&AccessToken{Name: "legacy", Scopes: []string{ScopeAccountManagement}, Permission: PermissionRW, Digest: TokenDigest("legacy-token")}))
}

// reencode round-trips d through JSON, as a file would, so the copy shares
// nothing with the snapshot it came from.
func reencode(t testing.TB, d *Document) *Document {
	t.Helper()
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var out Document
	require.NoError(t, json.Unmarshal(b, &out))
	return &out
}

func keepIDs[E Entity](in []E, set map[int64]bool) []E {
	var out []E
	for _, e := range in {
		if set[e.Key()] {
			out = append(out, e)
		}
	}
	return out
}

// subset keeps the entities of d whose ids are in set (proxies by their service's id).
func subset(d *Document, set map[int64]bool) *Document {
	out := *d
	out.Services, out.BackendAPIs, out.Metrics = keepIDs(d.Services, set), keepIDs(d.BackendAPIs, set), keepIDs(d.Metrics, set)
	out.MappingRules, out.BackendUsages = keepIDs(d.MappingRules, set), keepIDs(d.BackendUsages, set)
	out.ApplicationPlans, out.UsageLimits = keepIDs(d.ApplicationPlans, set), keepIDs(d.UsageLimits, set)
	out.PricingRules, out.Proxies, out.ProxyConfigs = keepIDs(d.PricingRules, set), keepIDs(d.Proxies, set), keepIDs(d.ProxyConfigs, set)
	out.ActiveDocs, out.Accounts, out.Users = keepIDs(d.ActiveDocs, set), keepIDs(d.Accounts, set), keepIDs(d.Users, set)
	out.Applications, out.RegistryPolicies = keepIDs(d.Applications, set), keepIDs(d.RegistryPolicies, set)
	out.Placements, out.AccessTokens = keepIDs(d.Placements, set), keepIDs(d.AccessTokens, set)
	out.FieldsDefs, out.NotificationPrefs = keepIDs(d.FieldsDefs, set), keepIDs(d.NotificationPrefs, set)
	return &out
}

func derefIDs(ids *[]int64) []int64 {
	if ids == nil {
		return nil
	}
	return *ids
}

func docCounts(d *Document) map[Kind]int {
	out := map[Kind]int{}
	for _, k := range Kinds {
		out[k] = len(d.entities(k))
	}
	return out
}

// checkReferences asserts every reference in d names an entity of the right
// kind that d itself holds.
func checkReferences(t *testing.T, d *Document) {
	t.Helper()
	kindOf := map[int64]Kind{}
	for _, k := range Kinds {
		if k == KindProxy {
			continue
		}
		for _, e := range d.entities(k) {
			_, dup := kindOf[e.Key()]
			require.False(t, dup, "id %d used twice", e.Key())
			kindOf[e.Key()] = k
		}
	}
	ref := func(what string, id int64, want ...Kind) {
		t.Helper()
		got, ok := kindOf[id]
		if assert.True(t, ok, "%s refers to %d, which is not in the document", what, id) {
			assert.Contains(t, want, got, "%s refers to %d, a %s", what, id, got)
		}
	}
	owner := func(ownerType string) Kind {
		if ownerType == OwnerBackendAPI {
			return KindBackendAPI
		}
		return KindService
	}
	for _, m := range d.Metrics {
		ref("metric owner", m.OwnerID, owner(m.OwnerType))
		if m.ParentID != 0 {
			ref("metric parent", m.ParentID, KindMetric)
		}
	}
	for _, r := range d.MappingRules {
		ref("rule owner", r.OwnerID, owner(r.OwnerType))
		ref("rule metric", r.MetricID, KindMetric)
	}
	for _, u := range d.BackendUsages {
		ref("usage service", u.ServiceID, KindService)
		ref("usage backend", u.BackendAPIID, KindBackendAPI)
	}
	for _, p := range d.ApplicationPlans {
		ref("plan service", p.ServiceID, KindService)
	}
	for _, l := range d.UsageLimits {
		ref("limit plan", l.PlanID, KindApplicationPlan)
		ref("limit metric", l.MetricID, KindMetric)
	}
	for _, r := range d.PricingRules {
		ref("pricing plan", r.PlanID, KindApplicationPlan)
		ref("pricing metric", r.MetricID, KindMetric)
	}
	for _, p := range d.Proxies {
		ref("proxy service", p.ServiceID, KindService)
	}
	for _, p := range d.ProxyConfigs {
		ref("proxy config service", p.ServiceID, KindService)
	}
	for _, a := range d.ActiveDocs {
		if a.ServiceID != 0 {
			ref("active doc service", a.ServiceID, KindService)
		}
	}
	for _, u := range d.Users {
		if u.AccountID == ProviderAccountID {
			for _, id := range derefIDs(u.AllowedServiceIDs) {
				ref("provider user's allowed service", id, KindService)
			}
			continue
		}
		ref("user account", u.AccountID, KindAccount)
	}
	for _, p := range d.NotificationPrefs {
		ref("notification preferences user", p.UserID, KindUser)
	}
	for _, a := range d.Applications {
		ref("application account", a.AccountID, KindAccount)
		ref("application service", a.ServiceID, KindService)
		ref("application plan", a.PlanID, KindApplicationPlan)
	}
	for _, p := range d.ServicePlans {
		ref("service plan service", p.ServiceID, KindService)
	}
	for _, s := range d.ServiceContracts {
		ref("subscription account", s.AccountID, KindAccount)
		ref("subscription plan", s.PlanID, KindServicePlan)
		ref("subscription service", s.ServiceID, KindService)
	}
	for _, p := range d.Placements {
		ref("placement service", p.ServiceID, KindService)
		for _, id := range p.PlanIDs {
			ref("placement plan", id, KindApplicationPlan)
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	src := newTestHead()
	var secrets richSecrets
	mustUpdate(t, src, func(tx *Tx) error { secrets = buildRich(t, tx); return nil })
	exportedAt := testNow.Add(time.Hour)
	orig := Export(src.Snapshot(), true, exportedAt)
	assert.Equal(t, DocumentFormat, orig.Format)
	assert.True(t, orig.Secrets)
	assert.Equal(t, exportedAt, orig.Exported)
	assert.EqualValues(t, 1, orig.Revision)
	for _, k := range Kinds {
		assert.NotEmpty(t, orig.entities(k), "the rich composition has %s", k)
	}

	dst := newTestHead()
	mustUpdate(t, dst, func(tx *Tx) error { buildUnrelated(t, tx); return nil })
	before := dst.Snapshot()
	beforeJSON := snapshotJSON(t, before)

	var stats *ImportStats
	mustUpdate(t, dst, func(tx *Tx) error {
		var err error
		stats, err = Import(tx, reencode(t, orig))
		return err
	})
	after := dst.Snapshot()
	assert.EqualValues(t, 2, after.Revision)
	assert.Equal(t, before.Count()+docEntityCount(orig), after.Count())
	assert.Equal(t, docEntityCount(orig), stats.Entities)

	// Every id was remapped above what the target held already.
	imported := map[int64]bool{}
	for old, n := range stats.IDs {
		if old == ProviderAccountID {
			continue
		}
		assert.Greater(t, n, before.LastID, "old id %d", old)
		imported[n] = true
	}
	assert.Equal(t, docEntityCount(orig)-len(orig.Proxies), len(imported))
	assert.Equal(t, after.LastID, before.LastID+int64(len(imported)))

	// The unrelated entities are untouched.
	assert.Equal(t, beforeJSON, snapshotJSON(t, before))
	for _, k := range Kinds {
		before.Each(k, func(e Entity) {
			n, ok := after.table(k).getEntity(e.Key())
			if assert.True(t, ok, "%s %d is gone", k, e.Key()) {
				assert.Same(t, e, n, "%s %d was rewritten", k, e.Key())
			}
		})
	}
	full := Export(after, true, exportedAt)
	assert.Equal(t, before.Count(), docEntityCount(full)-docEntityCount(orig))

	got := subset(full, imported)
	assert.Equal(t, docCounts(orig), docCounts(got))
	checkReferences(t, got)

	wantCanon, err := orig.Canonical()
	require.NoError(t, err)
	gotCanon, err := got.Canonical()
	require.NoError(t, err)
	require.Equal(t, wantCanon, gotCanon)

	// Spot checks through the id map: credentials and fields travelled as they were.
	for _, a := range orig.Applications {
		n, ok := after.Applications.Get(stats.IDs[a.ID])
		require.True(t, ok)
		assert.Equal(t, a.Name, n.Name)
		assert.Equal(t, a.UserKey, n.UserKey)
		assert.Equal(t, a.AppID, n.AppID)
		assert.Equal(t, a.AppKeys, n.AppKeys)
		assert.Equal(t, stats.IDs[a.PlanID], n.PlanID)
		assert.Equal(t, stats.IDs[a.ServiceID], n.ServiceID)
	}
	for _, p := range orig.Proxies {
		n, ok := after.Proxies.Get(stats.IDs[p.ServiceID])
		require.True(t, ok)
		assert.Equal(t, p.SecretToken, n.SecretToken)
		assert.Equal(t, p.Endpoint, n.Endpoint)
		assert.Len(t, n.PolicyChain, len(p.PolicyChain))
	}
	assert.Contains(t, secrets.secretTokens, orig.Proxies[0].SecretToken)

	// Importing the same document again collides on system names: the import
	// is validated against what the composition holds.
	_, err = dst.Update(context.Background(), func(tx *Tx) error {
		_, err := Import(tx, reencode(t, orig))
		return err
	})
	requireField(t, err, "system_name")
	assert.Contains(t, err.Error(), "import services")
	assert.Same(t, after, dst.Snapshot())
}

// docEntityCount returns how many entities d holds.
func docEntityCount(d *Document) int {
	n := 0
	for _, k := range Kinds {
		n += len(d.entities(k))
	}
	return n
}

func TestImportRejectsDanglingReferences(t *testing.T) {
	src := newTestHead()
	mustUpdate(t, src, func(tx *Tx) error { buildRich(t, tx); return nil })
	orig := Export(src.Snapshot(), true, testNow)
	const ghost = 987654

	for _, tc := range []struct {
		field  string
		mutate func(d *Document)
	}{
		{"metric_id", func(d *Document) { d.MappingRules[0].MetricID = ghost }},
		{"owner_id", func(d *Document) { d.Metrics[len(d.Metrics)-1].OwnerID = ghost }},
		{"parent_id", func(d *Document) {
			for _, m := range d.Metrics {
				if m.ParentID != 0 {
					m.ParentID = ghost
					return
				}
			}
		}},
		{"backend_id", func(d *Document) { d.BackendUsages[0].BackendAPIID = ghost }},
		{"service_id", func(d *Document) { d.ApplicationPlans[0].ServiceID = ghost }},
		{"plan_id", func(d *Document) { d.UsageLimits[0].PlanID = ghost }},
		{"metric_id", func(d *Document) { d.PricingRules[0].MetricID = ghost }},
		{"service_id", func(d *Document) { d.Proxies[0].ServiceID = ghost }},
		{"service_id", func(d *Document) { d.ActiveDocs[0].ServiceID = ghost }},
		{"account_id", func(d *Document) { d.Users[0].AccountID = ghost }},
		{"user_account_id", func(d *Document) { d.Applications[0].AccountID = ghost }},
		{"plan_id", func(d *Document) { d.Applications[0].PlanID = ghost }},
		{"plan_ids", func(d *Document) { d.Placements[0].PlanIDs = append(d.Placements[0].PlanIDs, ghost) }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			d := reencode(t, orig)
			tc.mutate(d)
			h := newTestHead()
			_, err := h.Update(context.Background(), func(tx *Tx) error {
				_, err := Import(tx, d)
				return err
			})
			requireField(t, err, tc.field)
			assert.Contains(t, err.Error(), tc.field)
			assert.Contains(t, err.Error(), "987654")
			assert.EqualValues(t, 0, h.Snapshot().Revision, "a failed import writes nothing")
			assert.Zero(t, h.Snapshot().Count())

			_, err = d.Canonical()
			requireField(t, err, tc.field)
		})
	}

	// An entity that fails validation names its kind and field.
	d := reencode(t, orig)
	d.Services[0].Name = ""
	_, err := Import(NewTx(New(), testNow), d)
	requireField(t, err, "name")
	assert.Contains(t, err.Error(), "import services")

	// Null entries are skipped.
	d = reencode(t, orig)
	d.Accounts = append(d.Accounts, nil)
	_, err = Import(NewTx(New(), testNow), d)
	require.NoError(t, err)
}

func TestImportRejectsWrongFormat(t *testing.T) {
	src := newTestHead()
	mustUpdate(t, src, func(tx *Tx) error { buildRich(t, tx); return nil })
	for _, format := range []string{"", "portolan.composition/v2", "3scale"} {
		d := reencode(t, Export(src.Snapshot(), true, testNow))
		d.Format = format
		tx := NewTx(New(), testNow)
		_, err := Import(tx, d)
		requireField(t, err, "format")
		assert.Empty(t, tx.Changes())
		_, err = d.Canonical()
		requireField(t, err, "format")
	}
}

func TestExportWithoutSecrets(t *testing.T) {
	src := newTestHead()
	var secrets richSecrets
	mustUpdate(t, src, func(tx *Tx) error { secrets = buildRich(t, tx); return nil })
	snap := src.Snapshot()
	withSecrets := snapshotJSON(t, snap)

	d := Export(snap, false, testNow)
	assert.False(t, d.Secrets)
	require.NotEmpty(t, d.Applications)
	for _, a := range d.Applications {
		assert.Empty(t, a.UserKey)
		assert.Empty(t, a.AppKeys)
		assert.Empty(t, a.AppID)
		assert.Empty(t, a.ProviderVerificationKey)
	}
	for _, u := range d.Users {
		assert.Empty(t, u.Password)
	}
	for _, p := range d.Proxies {
		assert.Empty(t, p.SecretToken)
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	text := string(b)
	var all []string
	for _, list := range [][]string{secrets.userKeys, secrets.appKeys, secrets.appIDs, secrets.passwords, secrets.secretTokens} {
		require.NotEmpty(t, list)
		all = append(all, list...)
	}
	for _, s := range all {
		require.NotEmpty(t, s)
		assert.False(t, strings.Contains(text, s), "secret %q leaked into the export", s)
	}
	assert.Equal(t, withSecrets, snapshotJSON(t, snap), "exporting without secrets does not touch the snapshot")

	// Importing it makes fresh credentials.
	dst := newTestHead()
	var stats *ImportStats
	mustUpdate(t, dst, func(tx *Tx) error {
		var err error
		stats, err = Import(tx, reencode(t, d))
		return err
	})
	got := dst.Snapshot()
	for _, orig := range snap.Applications.All() {
		a, ok := got.Applications.Get(stats.IDs[orig.ID])
		require.True(t, ok)
		assert.NotEmpty(t, a.ProviderVerificationKey)
		assert.NotEqual(t, orig.ProviderVerificationKey, a.ProviderVerificationKey)
		svc, _ := got.Services.Get(a.ServiceID)
		switch svc.BackendVersion {
		case "1":
			assert.Regexp(t, `^[0-9a-f]{32}$`, a.UserKey)
			assert.NotContains(t, secrets.userKeys, a.UserKey)
			assert.Empty(t, a.AppID)
		case "2":
			assert.Empty(t, a.UserKey)
			assert.Regexp(t, `^[0-9a-f]{8}$`, a.AppID)
			assert.NotContains(t, secrets.appIDs, a.AppID)
			require.Len(t, a.AppKeys, 1)
			assert.NotContains(t, secrets.appKeys, a.AppKeys[0])
		}
	}
	require.Equal(t, snap.Proxies.Len(), got.Proxies.Len())
	for _, p := range got.Proxies.All() {
		assert.NotEmpty(t, p.SecretToken)
		assert.NotContains(t, secrets.secretTokens, p.SecretToken)
	}
	for _, u := range got.Users.All() {
		assert.Empty(t, u.Password)
	}

	// Without secrets, the canonical forms of the two still agree.
	wantCanon, err := d.Canonical()
	require.NoError(t, err)
	gotCanon, err := Export(got, false, testNow).Canonical()
	require.NoError(t, err)
	require.Equal(t, wantCanon, gotCanon)
}

func TestImportAcceptsMethodsBeforeTheirHits(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	method := createMetric(t, tx, OwnerService, svc.ID, hits.ID, "Get")
	createRule(t, tx, OwnerService, svc.ID, method.ID, "GET", "/get", 1, 0, false)
	orig := Export(tx.Result(), true, testNow)

	// A hand-written document may list a method before its hits.
	d := reencode(t, orig)
	require.Len(t, d.Metrics, 2)
	d.Metrics[0], d.Metrics[1] = d.Metrics[1], d.Metrics[0]
	require.True(t, d.Metrics[0].IsMethod())
	into := NewTx(New(), testNow)
	_, err := Import(into, d)
	require.NoError(t, err)
	checkReferences(t, Export(into.View(), true, testNow))

	want, err := orig.Canonical()
	require.NoError(t, err)
	got, err := d.Canonical()
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// A document rebuilds the composition it came from, ids and revision kept.
func TestDocumentCompositionKeepsIDs(t *testing.T) {
	h := newTestHead()
	s := mustUpdate(t, h, func(tx *Tx) error {
		svc, hits := createService(t, tx, "News", "1")
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/a", 1, 0, false)
		createPlan(t, tx, svc.ID, "Basic", true)
		return nil
	})
	c, err := Export(s, true, testNow).Composition()
	require.NoError(t, err)
	assert.Equal(t, s.Revision, c.Revision)
	assert.Equal(t, s.LastID, c.LastID)
	assert.Equal(t, Export(s, true, testNow), Export(c, true, testNow))
	_, err = (&Document{Format: "x"}).Composition()
	requireField(t, err, "format")
}
