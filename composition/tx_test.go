package composition

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shared helpers for the package's tests (tx, matcher, document, store, bench).

var testNow = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func nopPersist(context.Context, []Change, *Composition) error { return nil }

// newTestHead returns an in-memory head at revision 0 whose writes never fail to persist.
func newTestHead() *Head {
	return NewHead(New(), nopPersist, func() time.Time { return testNow })
}

// mustUpdate runs fn as one write on h and fails the test if it fails.
func mustUpdate(t testing.TB, h *Head, fn func(*Tx) error) *Snapshot {
	t.Helper()
	s, err := h.Update(context.Background(), fn)
	require.NoError(t, err)
	return s
}

// requireField asserts err is a *ValidationError that names field.
func requireField(t testing.TB, err error, field string) *ValidationError {
	t.Helper()
	var ve *ValidationError
	require.ErrorAs(t, err, &ve, "want a *ValidationError naming %q", field)
	require.Contains(t, ve.Fields, field, "fields: %v", ve.Fields)
	return ve
}

// requireNotFound asserts err is a *NotFoundError about kind k.
func requireNotFound(t testing.TB, err error, k Kind) {
	t.Helper()
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, k, nf.Kind)
}

func createService(t testing.TB, tx *Tx, name, backendVersion string) (*Service, *Metric) {
	t.Helper()
	s := &Service{Name: name, BackendVersion: backendVersion}
	require.NoError(t, tx.Create(s))
	hits, ok := tx.View().Hits(OwnerService, s.ID)
	require.True(t, ok, "service %q has no hits metric", name)
	return s, hits
}

func createMetric(t testing.TB, tx *Tx, ownerType string, ownerID, parentID int64, friendly string) *Metric {
	t.Helper()
	m := &Metric{OwnerType: ownerType, OwnerID: ownerID, ParentID: parentID, FriendlyName: friendly, Unit: "unit"}
	require.NoError(t, tx.Create(m))
	return m
}

func createRule(t testing.TB, tx *Tx, ownerType string, ownerID, metricID int64, method, pattern string, delta, position int64, last bool) *MappingRule {
	t.Helper()
	r := &MappingRule{
		OwnerType: ownerType, OwnerID: ownerID, MetricID: metricID,
		HTTPMethod: method, Pattern: pattern, Delta: delta, Position: position, Last: last,
	}
	require.NoError(t, tx.Create(r))
	return r
}

func createPlan(t testing.TB, tx *Tx, serviceID int64, name string, def bool) *ApplicationPlan {
	t.Helper()
	p := &ApplicationPlan{ServiceID: serviceID, Name: name, Default: def}
	require.NoError(t, tx.Create(p))
	return p
}

func createAccount(t testing.TB, tx *Tx, org string) *Account {
	t.Helper()
	a := &Account{OrgName: org}
	require.NoError(t, tx.Create(a))
	return a
}

func createApp(t testing.TB, tx *Tx, accountID, planID int64, name string) *Application {
	t.Helper()
	a := &Application{AccountID: accountID, PlanID: planID, Name: name}
	require.NoError(t, tx.Create(a))
	return a
}

func createBackend(t testing.TB, tx *Tx, name string) (*BackendAPI, *Metric) {
	t.Helper()
	b := &BackendAPI{Name: name, PrivateEndpoint: "http://backend.internal:8080"}
	require.NoError(t, tx.Create(b))
	hits, ok := tx.View().Hits(OwnerBackendAPI, b.ID)
	require.True(t, ok)
	return b, hits
}

func TestCreateServiceMakesHitsAndDefaultProxy(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc := &Service{Name: "News API"}
	require.NoError(t, tx.Create(svc))
	c := tx.View()

	assert.Greater(t, svc.ID, ProviderAccountID)
	assert.Equal(t, ProviderAccountID, svc.AccountID)
	assert.Equal(t, "news_api", svc.SystemName)
	assert.Equal(t, "1", svc.BackendVersion)
	assert.Equal(t, "hosted", svc.DeploymentOption)
	assert.Equal(t, testNow, svc.CreatedAt)
	assert.Equal(t, testNow, svc.UpdatedAt)

	hits, ok := c.Hits(OwnerService, svc.ID)
	require.True(t, ok)
	assert.Equal(t, "hits", hits.SystemName)
	assert.Equal(t, "hits", hits.Name)
	assert.Equal(t, "hit", hits.Unit)
	assert.Equal(t, OwnerService, hits.OwnerType)
	assert.False(t, hits.IsMethod())
	assert.Len(t, c.MetricsOf(OwnerService, svc.ID), 1)

	px, ok := c.Proxies.Get(svc.ID)
	require.True(t, ok, "a new service has a proxy")
	assert.Equal(t, svc.ID, px.ServiceID)
	assert.Equal(t, CredentialsQuery, px.CredentialsLocation)
	assert.Equal(t, "user_key", px.AuthUserKey)
	assert.Equal(t, "app_id", px.AuthAppID)
	assert.Equal(t, "app_key", px.AuthAppKey)
	assert.EqualValues(t, 403, px.ErrorStatusAuthFailed)
	assert.EqualValues(t, 404, px.ErrorStatusNoMatch)
	assert.EqualValues(t, 429, px.ErrorStatusLimitsExceeded)
	assert.NotEmpty(t, px.SecretToken)
	require.Len(t, px.PolicyChain, 1)
	assert.Equal(t, "apicast", px.PolicyChain[0].Name)

	kinds := map[Kind]int{}
	for _, ch := range tx.Changes() {
		require.NotNil(t, ch.Entity)
		kinds[ch.Kind]++
	}
	assert.Equal(t, map[Kind]int{KindService: 1, KindMetric: 1, KindProxy: 1}, kinds)

	// A backend API gets its own hits metric too.
	b, bh := createBackend(t, tx, "Widgets Backend")
	assert.Equal(t, "widgets_backend", b.SystemName)
	assert.Equal(t, "hit", bh.Unit)
	assert.Equal(t, b.ID, bh.OwnerID)
}

func TestSystemNameDerivedFromName(t *testing.T) {
	for name, want := range map[string]string{
		"News API":              "news_api",
		"  Hello,   World!!  ":  "hello_world",
		"API-v2 (beta)":         "api-v2_beta",
		"already_snake_case":    "already_snake_case",
		"Caf\u00e9 Menu":        "caf_menu",
		"UPPER lower 123":       "upper_lower_123",
		"trailing punctuation.": "trailing_punctuation",
	} {
		assert.Equal(t, want, SystemName(name), "SystemName(%q)", name)
	}

	tx := NewTx(New(), testNow)
	explicit := &Service{Name: "Whatever", SystemName: "custom.name"}
	require.NoError(t, tx.Create(explicit))
	assert.Equal(t, "custom.name", explicit.SystemName, "an explicit system_name is kept")

	plan := &ApplicationPlan{ServiceID: explicit.ID, Name: "Gold Plan"}
	require.NoError(t, tx.Create(plan))
	assert.Equal(t, "gold_plan", plan.SystemName)

	m := &Metric{OwnerType: OwnerService, OwnerID: explicit.ID, FriendlyName: "Bytes Sent", Unit: "byte"}
	require.NoError(t, tx.Create(m))
	assert.Equal(t, "bytes_sent", m.SystemName)
	assert.Equal(t, "bytes_sent", m.Name)
}

func TestDuplicateServiceSystemNameRefused(t *testing.T) {
	tx := NewTx(New(), testNow)
	first, _ := createService(t, tx, "News API", "1")
	lastID := tx.View().LastID

	err := tx.Create(&Service{Name: "News API"}) // derives the same system_name
	ve := requireField(t, err, "system_name")
	assert.Equal(t, []string{"has already been taken"}, ve.Fields["system_name"])
	assert.Equal(t, lastID, tx.View().LastID, "a refused create hands out no id")

	err = tx.Create(&Service{Name: "Other", SystemName: "news_api"})
	requireField(t, err, "system_name")
	assert.Equal(t, 1, tx.View().Services.Len())

	// An update cannot change the system_name (3scale keeps it), so it cannot collide either.
	second, _ := createService(t, tx, "Second", "1")
	upd := *second
	upd.SystemName = first.SystemName
	upd.Name = "Second renamed"
	require.NoError(t, tx.Update(&upd))
	got, _ := tx.View().Services.Get(second.ID)
	assert.Equal(t, "second", got.SystemName)
	assert.Equal(t, "Second renamed", got.Name)

	// Other checks name their fields too.
	requireField(t, tx.Create(&Service{Name: ""}), "name")
	requireField(t, tx.Create(&Service{Name: "x", BackendVersion: "3"}), "backend_version")
	requireField(t, tx.Create(&Service{Name: "y", DeploymentOption: "cloud"}), "deployment_option")
}

func TestMethodsOnlyUnderHits(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	other, otherHits := createService(t, tx, "Other", "1")
	_ = other

	widgets := createMetric(t, tx, OwnerService, svc.ID, 0, "Widgets")
	assert.False(t, widgets.IsMethod())

	method := &Metric{OwnerType: OwnerService, OwnerID: svc.ID, ParentID: hits.ID, FriendlyName: "Get Widgets"}
	require.NoError(t, tx.Create(method))
	assert.True(t, method.IsMethod())
	assert.Equal(t, "hit", method.Unit, "a method's unit defaults to hit")
	assert.Equal(t, "get_widgets", method.SystemName)

	// parent is another metric of the same service
	err := tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svc.ID, ParentID: widgets.ID, FriendlyName: "Sub"})
	requireField(t, err, "parent_id")
	// parent is a method (a grandchild of hits)
	err = tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svc.ID, ParentID: method.ID, FriendlyName: "Sub2"})
	requireField(t, err, "parent_id")
	// parent is another service's hits
	err = tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svc.ID, ParentID: otherHits.ID, FriendlyName: "Sub3"})
	requireField(t, err, "parent_id")
	// parent does not exist
	err = tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svc.ID, ParentID: 987654, FriendlyName: "Sub4"})
	requireField(t, err, "parent_id")

	// an update cannot re-parent a metric
	upd := *widgets
	upd.ParentID = hits.ID
	upd.FriendlyName = "Widgets renamed"
	require.NoError(t, tx.Update(&upd))
	got, _ := tx.View().Metrics.Get(widgets.ID)
	assert.Zero(t, got.ParentID)
	assert.Equal(t, "Widgets renamed", got.FriendlyName)

	// other metric checks
	requireField(t, tx.Create(&Metric{OwnerType: OwnerService, OwnerID: 987654, FriendlyName: "x", Unit: "u"}), "owner_id")
	requireField(t, tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svc.ID, FriendlyName: "Widgets", Unit: "u"}), "system_name")
	requireField(t, tx.Create(&Metric{OwnerType: OwnerService, OwnerID: svc.ID, FriendlyName: "No unit"}), "unit")
}

func TestHitsCannotBeDeleted(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	method := createMetric(t, tx, OwnerService, svc.ID, hits.ID, "Get")
	rule := createRule(t, tx, OwnerService, svc.ID, method.ID, "GET", "/get", 1, 0, false)
	n := len(tx.Changes())

	err := tx.Delete(KindMetric, hits.ID)
	requireField(t, err, "system_name")
	_, ok := tx.View().Metrics.Get(hits.ID)
	assert.True(t, ok)
	assert.Len(t, tx.Changes(), n, "a refused delete records nothing")

	// A backend API's hits cannot be deleted either.
	_, bh := createBackend(t, tx, "Backend")
	requireField(t, tx.Delete(KindMetric, bh.ID), "system_name")

	// A method can be deleted; its mapping rules go with it.
	require.NoError(t, tx.Delete(KindMetric, method.ID))
	_, ok = tx.View().Metrics.Get(method.ID)
	assert.False(t, ok)
	_, ok = tx.View().MappingRules.Get(rule.ID)
	assert.False(t, ok)

	requireNotFound(t, tx.Delete(KindMetric, method.ID), KindMetric)
}

func TestMappingRuleValidation(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	_, otherHits := createService(t, tx, "Other", "1")
	backend, backendHits := createBackend(t, tx, "Backend")

	ok := func(m *MappingRule) *MappingRule {
		m.OwnerType, m.OwnerID = OwnerService, svc.ID
		if m.MetricID == 0 {
			m.MetricID = hits.ID
		}
		if m.HTTPMethod == "" {
			m.HTTPMethod = "GET"
		}
		if m.Pattern == "" {
			m.Pattern = "/ok"
		}
		if m.Delta == 0 {
			m.Delta = 1
		}
		return m
	}

	for _, tc := range []struct {
		name  string
		rule  *MappingRule
		field string
	}{
		{"bad pattern", ok(&MappingRule{Pattern: "no-leading-slash"}), "pattern"},
		{"unbalanced brace", ok(&MappingRule{Pattern: "/v1/{id"}), "pattern"},
		{"delta 0", func() *MappingRule { r := ok(&MappingRule{}); r.Delta = 0; return r }(), "delta"},
		{"negative delta", ok(&MappingRule{Delta: -1}), "delta"},
		{"unknown metric", ok(&MappingRule{MetricID: 987654}), "metric_id"},
		{"another service's metric", ok(&MappingRule{MetricID: otherHits.ID}), "metric_id"},
		{"a backend's metric on a product rule", ok(&MappingRule{MetricID: backendHits.ID}), "metric_id"},
		{"bad http_method", ok(&MappingRule{HTTPMethod: "FETCH"}), "http_method"},
		{"negative position", ok(&MappingRule{Position: -1}), "position"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tx.View().MappingRules.Len()
			err := tx.Create(tc.rule)
			requireField(t, err, tc.field)
			assert.Equal(t, before, tx.View().MappingRules.Len())
		})
	}

	// A blank pattern is refused as blank.
	blankRule := ok(&MappingRule{})
	blankRule.Pattern = ""
	ve := requireField(t, tx.Create(blankRule), "pattern")
	assert.Contains(t, ve.Fields["pattern"], "can't be blank")

	// Everything wrong at once: every field is named.
	ve = requireField(t, tx.Create(&MappingRule{OwnerType: OwnerService, OwnerID: svc.ID, MetricID: 987654, HTTPMethod: "BREW", Pattern: "x"}), "pattern")
	for _, f := range []string{"metric_id", "http_method", "pattern", "delta"} {
		assert.Contains(t, ve.Fields, f)
	}

	// Unknown owner.
	requireField(t, tx.Create(&MappingRule{OwnerType: OwnerService, OwnerID: 987654, MetricID: hits.ID, HTTPMethod: "GET", Pattern: "/", Delta: 1}), "owner_id")
	requireField(t, tx.Create(&MappingRule{OwnerType: "Planet", OwnerID: svc.ID, MetricID: hits.ID, HTTPMethod: "GET", Pattern: "/", Delta: 1}), "owner_id")

	// Valid rules: method upper-cased, positions appended in order.
	r1 := createRule(t, tx, OwnerService, svc.ID, hits.ID, "get", "/v1/{id}$", 1, 0, false)
	r2 := createRule(t, tx, OwnerService, svc.ID, hits.ID, "any", "/search?q={q}", 2, 0, true)
	assert.Equal(t, "GET", r1.HTTPMethod)
	assert.Equal(t, "ANY", r2.HTTPMethod)
	assert.EqualValues(t, 1, r1.Position)
	assert.EqualValues(t, 2, r2.Position)
	// Backend API rules take the backend's metrics.
	br := createRule(t, tx, OwnerBackendAPI, backend.ID, backendHits.ID, "POST", "/items", 1, 0, false)
	assert.EqualValues(t, 1, br.Position)

	// Updates are validated too, and keep the owner.
	upd := *r1
	upd.Delta = 0
	requireField(t, tx.Update(&upd), "delta")
	upd = *r1
	upd.OwnerID = 987654
	upd.Pattern = "/v2"
	require.NoError(t, tx.Update(&upd))
	got, _ := tx.View().MappingRules.Get(r1.ID)
	assert.Equal(t, svc.ID, got.OwnerID)
	assert.Equal(t, "/v2", got.Pattern)
}

func TestPlanStateAndSingleDefault(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Svc", "1")
	other, _ := createService(t, tx, "Other", "1")

	requireField(t, tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: "Bad", State: "archived"}), "state")
	requireField(t, tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: ""}), "name")
	requireField(t, tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: "Neg", SetupFee: -1}), "setup_fee")
	requireNotFound(t, tx.Create(&ApplicationPlan{ServiceID: 987654, Name: "Orphan"}), KindService)

	published := &ApplicationPlan{ServiceID: svc.ID, Name: "Pub", State: PlanPublished}
	require.NoError(t, tx.Create(published))
	assert.Equal(t, PlanPublished, published.State)

	basic := createPlan(t, tx, svc.ID, "Basic", true)
	assert.Equal(t, PlanHidden, basic.State, "plans start hidden")
	otherDefault := createPlan(t, tx, other.ID, "Other default", true)
	requireField(t, tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: "Basic"}), "system_name")

	later := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	tx2 := NewTx(tx.Result(), later)
	pro := createPlan(t, tx2, svc.ID, "Pro", true)
	c := tx2.View()
	gotBasic, _ := c.ApplicationPlans.Get(basic.ID)
	gotPro, _ := c.ApplicationPlans.Get(pro.ID)
	gotOther, _ := c.ApplicationPlans.Get(otherDefault.ID)
	assert.False(t, gotBasic.Default, "a second default plan unsets the first")
	assert.Equal(t, later, gotBasic.UpdatedAt)
	assert.True(t, gotPro.Default)
	assert.True(t, gotOther.Default, "another service's default plan is untouched")
	assert.True(t, basic.Default, "the unset is made on a copy")

	// Making a plan default through an update unsets the others too.
	upd := *gotBasic
	upd.Default = true
	require.NoError(t, tx2.Update(&upd))
	gotBasic, _ = tx2.View().ApplicationPlans.Get(basic.ID)
	gotPro, _ = tx2.View().ApplicationPlans.Get(pro.ID)
	assert.True(t, gotBasic.Default)
	assert.False(t, gotPro.Default)

	defaults := 0
	for _, p := range tx2.View().PlansOf(svc.ID) {
		if p.Default {
			defaults++
		}
	}
	assert.Equal(t, 1, defaults)
}

func TestUsageLimitRules(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	method := createMetric(t, tx, OwnerService, svc.ID, hits.ID, "Get")
	_, otherHits := createService(t, tx, "Other", "1")
	used, usedHits := createBackend(t, tx, "Used backend")
	_, unusedHits := createBackend(t, tx, "Unused backend")
	require.NoError(t, tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: used.ID, Path: "/v2"}))
	plan := createPlan(t, tx, svc.ID, "Basic", false)

	for _, p := range Periods {
		require.NoError(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: p, Value: 10}), p)
	}
	requireField(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: method.ID, Period: "fortnight", Value: 1}), "period")
	requireField(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: method.ID, Period: "", Value: 1}), "period")
	requireField(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: method.ID, Period: "day", Value: -1}), "value")
	requireField(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: "day", Value: 5}), "period") // taken

	// A method of the service, and a metric of a backend the service uses, are fine.
	require.NoError(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: method.ID, Period: "day", Value: 1}))
	require.NoError(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: usedHits.ID, Period: "day", Value: 1}))

	// Metrics of another service or of a backend the service does not use are not.
	requireNotFound(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: otherHits.ID, Period: "day", Value: 1}), KindMetric)
	requireNotFound(t, tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: unusedHits.ID, Period: "day", Value: 1}), KindMetric)
	requireNotFound(t, tx.Create(&UsageLimit{PlanID: 987654, MetricID: hits.ID, Period: "day", Value: 1}), KindApplicationPlan)

	// Pricing rules follow the same metric rule.
	require.NoError(t, tx.Create(&PricingRule{PlanID: plan.ID, MetricID: usedHits.ID, CostPerUnit: "0.5", Min: 1, Max: 10}))
	requireNotFound(t, tx.Create(&PricingRule{PlanID: plan.ID, MetricID: otherHits.ID, Min: 1}), KindMetric)
	requireField(t, tx.Create(&PricingRule{PlanID: plan.ID, MetricID: hits.ID, CostPerUnit: "cheap", Min: 1}), "cost_per_unit")
	requireField(t, tx.Create(&PricingRule{PlanID: plan.ID, MetricID: hits.ID, Min: 5, Max: 2}), "max")
}

func TestApplicationCredentialsByBackendVersion(t *testing.T) {
	tx := NewTx(New(), testNow)
	v1, _ := createService(t, tx, "Key service", "1")
	v2, _ := createService(t, tx, "AppID service", "2")
	acc := createAccount(t, tx, "ACME")
	p1 := createPlan(t, tx, v1.ID, "Basic", false)
	p2 := createPlan(t, tx, v2.ID, "Basic", false)

	a1 := createApp(t, tx, acc.ID, p1.ID, "one")
	assert.Regexp(t, `^[0-9a-f]{32}$`, a1.UserKey)
	assert.Empty(t, a1.AppID)
	assert.Empty(t, a1.AppKeys)
	assert.Equal(t, v1.ID, a1.ServiceID)
	assert.Equal(t, AppLive, a1.State)
	assert.NotEmpty(t, a1.ProviderVerificationKey)

	a1b := createApp(t, tx, acc.ID, p1.ID, "one-b")
	assert.NotEqual(t, a1.UserKey, a1b.UserKey, "user keys are random")

	a2 := createApp(t, tx, acc.ID, p2.ID, "two")
	assert.Empty(t, a2.UserKey)
	assert.Regexp(t, `^[0-9a-f]{8}$`, a2.AppID)
	require.Len(t, a2.AppKeys, 1)
	assert.Regexp(t, `^[0-9a-f]{32}$`, a2.AppKeys[0])
	assert.Equal(t, v2.ID, a2.ServiceID)

	// A given user_key is kept, and must be unique within the service.
	custom := &Application{AccountID: acc.ID, PlanID: p1.ID, Name: "custom", UserKey: "my-own-key"}
	require.NoError(t, tx.Create(custom))
	assert.Equal(t, "my-own-key", custom.UserKey)
	requireField(t, tx.Create(&Application{AccountID: acc.ID, PlanID: p1.ID, Name: "dup", UserKey: "my-own-key"}), "user_key")
	requireField(t, tx.Create(&Application{AccountID: acc.ID, PlanID: p1.ID, Name: "bad", UserKey: "has space"}), "user_key")
	requireField(t, tx.Create(&Application{AccountID: acc.ID, PlanID: p2.ID, Name: "dup id", AppID: a2.AppID}), "application_id")

	// A plan that requires approval makes pending applications.
	approval := &ApplicationPlan{ServiceID: v2.ID, Name: "Approval", ApprovalRequired: true}
	require.NoError(t, tx.Create(approval))
	pending := createApp(t, tx, acc.ID, approval.ID, "pending")
	assert.Equal(t, AppPending, pending.State)

	requireField(t, tx.Create(&Application{AccountID: acc.ID, PlanID: 987654, Name: "x"}), "plan_id")
	requireNotFound(t, tx.Create(&Application{AccountID: 987654, PlanID: p1.ID, Name: "x"}), KindAccount)
	requireField(t, tx.Create(&Application{AccountID: acc.ID, PlanID: p1.ID, Name: ""}), "name")
}

func TestDeletePlanWithApplicationsRefused(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, hits := createService(t, tx, "Svc", "1")
	acc := createAccount(t, tx, "ACME")
	plan := createPlan(t, tx, svc.ID, "Basic", true)
	keep := createPlan(t, tx, svc.ID, "Keep", false)
	limit := &UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: "day", Value: 10}
	require.NoError(t, tx.Create(limit))
	price := &PricingRule{PlanID: plan.ID, MetricID: hits.ID, CostPerUnit: "0.1", Min: 1}
	require.NoError(t, tx.Create(price))
	pl := &Placement{Selector: Selector{Service: "news"}, ServiceID: svc.ID, PlanIDs: []int64{plan.ID, keep.ID}}
	require.NoError(t, tx.Create(pl))
	app := createApp(t, tx, acc.ID, plan.ID, "app")

	err := tx.Delete(KindApplicationPlan, plan.ID)
	requireField(t, err, "base")
	_, ok := tx.View().ApplicationPlans.Get(plan.ID)
	assert.True(t, ok)

	require.NoError(t, tx.Delete(KindApplication, app.ID))
	require.NoError(t, tx.Delete(KindApplicationPlan, plan.ID))
	c := tx.View()
	_, ok = c.ApplicationPlans.Get(plan.ID)
	assert.False(t, ok)
	_, ok = c.UsageLimits.Get(limit.ID)
	assert.False(t, ok, "limits go with their plan")
	_, ok = c.PricingRules.Get(price.ID)
	assert.False(t, ok, "pricing rules go with their plan")
	gotPl, ok := c.Placements.Get(pl.ID)
	require.True(t, ok, "the placement stays")
	assert.Equal(t, []int64{keep.ID}, gotPl.PlanIDs, "the deleted plan leaves the placement")
	assert.Equal(t, []int64{plan.ID, keep.ID}, pl.PlanIDs, "the placement is changed on a copy")

	// The proxy is deleted with its service only.
	requireField(t, tx.Delete(KindProxy, svc.ID), "base")
}

func TestDeleteServiceCascades(t *testing.T) {
	base := NewTx(New(), testNow)
	svc, hits := createService(t, base, "Doomed", "2")
	method := createMetric(t, base, OwnerService, svc.ID, hits.ID, "Get")
	bytes := createMetric(t, base, OwnerService, svc.ID, 0, "Bytes")
	r1 := createRule(t, base, OwnerService, svc.ID, method.ID, "GET", "/a", 1, 0, false)
	r2 := createRule(t, base, OwnerService, svc.ID, bytes.ID, "POST", "/b", 5, 0, false)
	backend, bHits := createBackend(t, base, "Shared backend")
	bRule := createRule(t, base, OwnerBackendAPI, backend.ID, bHits.ID, "GET", "/x", 1, 0, false)
	usage := &BackendUsage{ServiceID: svc.ID, BackendAPIID: backend.ID, Path: "/v2"}
	require.NoError(t, base.Create(usage))
	p1 := createPlan(t, base, svc.ID, "Gold", true)
	p2 := createPlan(t, base, svc.ID, "Silver", false)
	l1 := &UsageLimit{PlanID: p1.ID, MetricID: hits.ID, Period: "day", Value: 100}
	l2 := &UsageLimit{PlanID: p2.ID, MetricID: bHits.ID, Period: "month", Value: 100} // a limit on a backend metric
	pr := &PricingRule{PlanID: p1.ID, MetricID: bytes.ID, CostPerUnit: "0.01", Min: 1}
	for _, e := range []Entity{l1, l2, pr} {
		require.NoError(t, base.Create(e))
	}
	acc := createAccount(t, base, "ACME")
	user := &User{AccountID: acc.ID, Username: "alice", Email: "alice@example.com"}
	require.NoError(t, base.Create(user))
	app1 := createApp(t, base, acc.ID, p1.ID, "a1")
	app2 := createApp(t, base, acc.ID, p2.ID, "a2")
	pc := &ProxyConfig{ServiceID: svc.ID, Environment: EnvSandbox, Version: 1, Content: json.RawMessage(`{"x":1}`)}
	require.NoError(t, base.Create(pc))
	boundDoc := &ActiveDoc{ServiceID: svc.ID, Name: "Doomed spec", Body: `{"openapi":"3.0.0"}`}
	freeDoc := &ActiveDoc{Name: "Free spec", Body: `{"swagger":"2.0"}`}
	require.NoError(t, base.Create(boundDoc))
	require.NoError(t, base.Create(freeDoc))
	pl := &Placement{Selector: Selector{Service: "doomed"}, ServiceID: svc.ID, PlanIDs: []int64{p1.ID}}
	require.NoError(t, base.Create(pl))

	// A second service that shares the backend and the account must survive intact.
	keep, keepHits := createService(t, base, "Survivor", "1")
	keepRule := createRule(t, base, OwnerService, keep.ID, keepHits.ID, "GET", "/", 1, 0, false)
	require.NoError(t, base.Create(&BackendUsage{ServiceID: keep.ID, BackendAPIID: backend.ID, Path: "/"}))
	keepPlan := createPlan(t, base, keep.ID, "Basic", true)
	keepApp := createApp(t, base, acc.ID, keepPlan.ID, "k")
	keepPl := &Placement{Selector: Selector{Service: "survivor"}, ServiceID: keep.ID}
	require.NoError(t, base.Create(keepPl))
	before := base.Result()

	later := testNow.Add(time.Hour)
	tx := NewTx(before, later)
	require.NoError(t, tx.Delete(KindService, svc.ID))
	c := tx.View()

	gone := map[Kind][]int64{
		KindService:         {svc.ID},
		KindMetric:          {hits.ID, method.ID, bytes.ID},
		KindMappingRule:     {r1.ID, r2.ID},
		KindBackendUsage:    {usage.ID},
		KindApplicationPlan: {p1.ID, p2.ID},
		KindUsageLimit:      {l1.ID, l2.ID},
		KindPricingRule:     {pr.ID},
		KindApplication:     {app1.ID, app2.ID},
		KindProxy:           {svc.ID},
		KindProxyConfig:     {pc.ID},
		KindPlacement:       {pl.ID},
	}
	deleted := map[changeKey]bool{}
	for _, ch := range tx.Changes() {
		if ch.Entity == nil {
			deleted[changeKey{ch.Kind, ch.ID}] = true
		}
	}
	for k, ids := range gone {
		for _, id := range ids {
			_, ok := c.table(k).getEntity(id)
			assert.False(t, ok, "%s %d should be gone", k, id)
			assert.True(t, deleted[changeKey{k, id}], "%s %d should be recorded as deleted", k, id)
		}
	}
	assert.Len(t, deleted, 17, "exactly the service's entities are deleted")
	assert.Empty(t, c.MetricsOf(OwnerService, svc.ID))
	assert.Empty(t, c.MappingRulesOf(OwnerService, svc.ID))
	assert.Empty(t, c.PlansOf(svc.ID))

	doc, ok := c.ActiveDocs.Get(boundDoc.ID)
	require.True(t, ok, "active docs outlive their service")
	assert.Zero(t, doc.ServiceID, "and are unbound from it")
	assert.Equal(t, later, doc.UpdatedAt)
	assert.Equal(t, svc.ID, boundDoc.ServiceID, "the unbind is made on a copy")
	free, _ := c.ActiveDocs.Get(freeDoc.ID)
	assert.Same(t, freeDoc, free, "an unbound doc is untouched")

	for k, id := range map[Kind]int64{
		KindBackendAPI: backend.ID, KindMetric: bHits.ID, KindMappingRule: bRule.ID,
		KindAccount: acc.ID, KindUser: user.ID,
		KindService: keep.ID, KindProxy: keep.ID, KindApplicationPlan: keepPlan.ID,
		KindApplication: keepApp.ID, KindPlacement: keepPl.ID,
	} {
		_, ok := c.table(k).getEntity(id)
		assert.True(t, ok, "%s %d should survive", k, id)
	}
	_, ok = c.MappingRules.Get(keepRule.ID)
	assert.True(t, ok)
	_, ok = c.Hits(OwnerService, keep.ID)
	assert.True(t, ok)

	// The base composition is untouched.
	_, ok = before.Services.Get(svc.ID)
	assert.True(t, ok)
	assert.Len(t, before.MetricsOf(OwnerService, svc.ID), 3)
	assert.Len(t, before.PlansOf(svc.ID), 2)
	bd, _ := before.ActiveDocs.Get(boundDoc.ID)
	assert.Equal(t, svc.ID, bd.ServiceID)
}

func TestFailedWriteLeavesSnapshotUntouched(t *testing.T) {
	h := newTestHead()
	var svcID int64
	mustUpdate(t, h, func(tx *Tx) error {
		s, _ := createService(t, tx, "Svc", "1")
		svcID = s.ID
		return nil
	})
	snap := h.Snapshot()
	require.EqualValues(t, 1, snap.Revision)
	lastID, metrics := snap.LastID, snap.Metrics.Len()

	boom := errors.New("boom")
	got, err := h.Update(context.Background(), func(tx *Tx) error {
		for i := range 5 {
			m := &Metric{OwnerType: OwnerService, OwnerID: svcID, FriendlyName: "m" + string(rune('a'+i)), Unit: "u"}
			if err := tx.Create(m); err != nil {
				return err
			}
		}
		if err := tx.Delete(KindService, svcID); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Nil(t, got)
	assert.Same(t, snap, h.Snapshot(), "a failed write publishes nothing")
	assert.EqualValues(t, 1, h.Snapshot().Revision)
	assert.Equal(t, lastID, snap.LastID)
	assert.Equal(t, metrics, snap.Metrics.Len())
	_, ok := snap.Services.Get(svcID)
	assert.True(t, ok)

	// A validation error that fn passes on fails the write the same way.
	_, err = h.Update(context.Background(), func(tx *Tx) error {
		require.NoError(t, tx.Create(&Service{Name: "Fine"}))
		return tx.Create(&Service{Name: "Svc"}) // duplicate system_name
	})
	requireField(t, err, "system_name")
	assert.Same(t, snap, h.Snapshot())
	assert.Equal(t, 1, h.Snapshot().Services.Len())

	// A Tx that writes nothing makes no revision: reads only, or a refused
	// create whose error fn swallows.
	got, err = h.Update(context.Background(), func(tx *Tx) error {
		_, _ = tx.View().Services.Get(svcID)
		return nil
	})
	require.NoError(t, err)
	assert.Same(t, snap, got)
	got, err = h.Update(context.Background(), func(tx *Tx) error {
		_ = tx.Create(&Service{Name: "Svc"})
		return nil
	})
	require.NoError(t, err)
	assert.Same(t, snap, got)
	assert.Equal(t, lastID, h.Snapshot().LastID)

	// A failing persist publishes nothing either.
	failing := NewHead(snap, func(context.Context, []Change, *Composition) error { return boom }, nil)
	_, err = failing.Update(context.Background(), func(tx *Tx) error { return tx.Create(&Service{Name: "New"}) })
	require.ErrorIs(t, err, boom)
	assert.Same(t, snap, failing.Snapshot())

	// The next successful write is the next revision.
	next := mustUpdate(t, h, func(tx *Tx) error { return tx.Create(&Service{Name: "Second"}) })
	assert.EqualValues(t, 2, next.Revision)
	assert.Equal(t, 2, next.Services.Len())
	assert.Greater(t, next.LastID, lastID)
}

// snapshotJSON captures every entity of c by value.
func snapshotJSON(t testing.TB, c *Composition) string {
	t.Helper()
	b, err := json.Marshal(Export(c, true, time.Time{}))
	require.NoError(t, err)
	return string(b)
}

func TestSnapshotsAreImmutable(t *testing.T) {
	h := newTestHead()
	var (
		svc   *Service
		hits  *Metric
		r1    *MappingRule
		plan  *ApplicationPlan
		acc   *Account
		app   *Application
		usage *BackendUsage
	)
	mustUpdate(t, h, func(tx *Tx) error {
		svc, hits = createService(t, tx, "Svc", "1")
		r1 = createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/a", 1, 0, false)
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "GET", "/b", 1, 0, false)
		plan = createPlan(t, tx, svc.ID, "Basic", true)
		acc = createAccount(t, tx, "ACME")
		app = createApp(t, tx, acc.ID, plan.ID, "app")
		b, _ := createBackend(t, tx, "Backend")
		usage = &BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: "/v1"}
		return tx.Create(usage)
	})
	old := h.Snapshot()
	oldJSON := snapshotJSON(t, old)
	oldRev, oldLastID := old.Revision, old.LastID
	lens := map[Kind]int{}
	for _, k := range Kinds {
		lens[k] = old.table(k).Len()
	}
	svcCopy, ruleCopy, planCopy, appCopy := *svc, *r1, *plan, *app
	oldProxy, _ := old.Proxies.Get(svc.ID)
	proxyCopy := *oldProxy

	later := testNow.Add(time.Minute)
	h.now = func() time.Time { return later }
	mustUpdate(t, h, func(tx *Tx) error {
		s := *svc
		s.Name = "Renamed"
		s.Description = "changed"
		require.NoError(t, tx.Update(&s))
		p, _ := tx.View().Proxies.Get(svc.ID)
		px := *p
		px.Endpoint = "https://api.example.com"
		px.PolicyChain = append([]PolicyConfig{{Name: "cors", Version: "builtin"}}, p.PolicyChain...)
		require.NoError(t, tx.Update(&px))
		createMetric(t, tx, OwnerService, svc.ID, 0, "Bytes")
		require.NoError(t, tx.Delete(KindMappingRule, r1.ID))
		createRule(t, tx, OwnerService, svc.ID, hits.ID, "POST", "/c", 2, 0, false)
		createPlan(t, tx, svc.ID, "Pro", true) // unsets Basic's default
		u := *usage
		u.Path = "/v9"
		require.NoError(t, tx.Update(&u))
		require.NoError(t, tx.Delete(KindApplication, app.ID))
		createAccount(t, tx, "Newcomer")
		return nil
	})
	cur := h.Snapshot()
	require.EqualValues(t, oldRev+1, cur.Revision)

	// The old snapshot still shows exactly what it showed.
	assert.Equal(t, oldRev, old.Revision)
	assert.Equal(t, oldLastID, old.LastID)
	for _, k := range Kinds {
		assert.Equal(t, lens[k], old.table(k).Len(), "length of %s", k)
	}
	assert.Equal(t, oldJSON, snapshotJSON(t, old), "no entity of the old snapshot changed")
	gotSvc, _ := old.Services.Get(svc.ID)
	assert.Equal(t, svcCopy, *gotSvc)
	gotRule, ok := old.MappingRules.Get(r1.ID)
	require.True(t, ok)
	assert.Equal(t, ruleCopy, *gotRule)
	gotPlan, _ := old.ApplicationPlans.Get(plan.ID)
	assert.Equal(t, planCopy, *gotPlan)
	assert.True(t, gotPlan.Default)
	gotApp, ok := old.Applications.Get(app.ID)
	require.True(t, ok)
	assert.Equal(t, appCopy, *gotApp)
	gotProxy, _ := old.Proxies.Get(svc.ID)
	assert.Equal(t, proxyCopy, *gotProxy)
	assert.Len(t, gotProxy.PolicyChain, 1)
	assert.Len(t, old.MappingRulesOf(OwnerService, svc.ID), 2)

	// The new one shows the write.
	newSvc, _ := cur.Services.Get(svc.ID)
	assert.Equal(t, "Renamed", newSvc.Name)
	assert.Equal(t, svc.CreatedAt, newSvc.CreatedAt)
	assert.Equal(t, later, newSvc.UpdatedAt)
	newProxy, _ := cur.Proxies.Get(svc.ID)
	assert.Equal(t, "https://api.example.com", newProxy.Endpoint)
	assert.EqualValues(t, 1, newProxy.LockVersion)
	_, ok = cur.MappingRules.Get(r1.ID)
	assert.False(t, ok)
	assert.Len(t, cur.MappingRulesOf(OwnerService, svc.ID), 2)
	newPlan, _ := cur.ApplicationPlans.Get(plan.ID)
	assert.False(t, newPlan.Default)
	_, ok = cur.Applications.Get(app.ID)
	assert.False(t, ok)
	assert.Equal(t, lens[KindAccount]+1, cur.Accounts.Len())
	assert.Equal(t, lens[KindMetric]+1, cur.Metrics.Len())
	// Tables the write did not touch are shared, not copied.
	assert.Equal(t, lens[KindUser], cur.Users.Len())

	// A Tx never modifies its base, even before it commits.
	tx := NewTx(cur, later)
	require.NoError(t, tx.Delete(KindService, svc.ID))
	_, ok = cur.Services.Get(svc.ID)
	assert.True(t, ok)
	assert.Same(t, cur, h.Snapshot())
}

func TestTxUpdateAndDeleteUnknown(t *testing.T) {
	tx := NewTx(New(), testNow)
	requireNotFound(t, tx.Update(&Service{ID: 987654, Name: "ghost"}), KindService)
	requireNotFound(t, tx.Delete(KindAccount, 987654), KindAccount)
	assert.Empty(t, tx.Changes())
}

func TestRefusedProxyCreateHandsBackNoID(t *testing.T) {
	tx := NewTx(New(), testNow)
	createService(t, tx, "Svc", "1")
	acc := createAccount(t, tx, "ACME")
	lastID := tx.View().LastID

	// A proxy takes its service's id; refusing it must not give back an id it never took.
	requireField(t, tx.Create(DefaultProxy(987654)), "service_id")
	assert.Equal(t, lastID, tx.View().LastID)

	next := &Account{OrgName: "Globex"}
	require.NoError(t, tx.Create(next))
	assert.Equal(t, lastID+1, next.ID)
	got, ok := tx.View().Accounts.Get(acc.ID)
	require.True(t, ok)
	assert.Equal(t, "ACME", got.OrgName, "an earlier entity is never overwritten by a reused id")
	assert.Equal(t, 2, tx.View().Accounts.Len())
}
