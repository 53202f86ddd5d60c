package composition

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 3scale's rules for each kind: defaults, validation messages, uniqueness.

func TestSystemNameDerivedFromName(t *testing.T) {
	for name, want := range map[string]string{
		"News API":                             "news_api",
		"  Hello,   World!!  ":                 "hello_world",
		"API-v2 (beta)":                        "api_v2_beta",
		"My Metric-One":                        "my_metric_one",
		"already_snake_case":                   "already_snake_case",
		"Caf\u00e9 Menu":                       "cafe_menu",
		"-lead and_ trail_":                    "lead_and__trail_",
		"\u00c9l\u00e8ve \u2014 \u00e9t\u00e9": "eleve_ete",
		"!!!":                                  "",
		"UPPER lower 123":                      "upper_lower_123",
		"trailing punctuation.":                "trailing_punctuation",
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
	requireField(t, tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: "Neg", SetupFee: "-1"}), "setup_fee")
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

// Values Portolan writes into HTTP headers cannot carry CR/LF (a header of
// their own), names cannot carry NUL, controls or invalid UTF-8.
func TestStoredValuesCannotSmuggleHeadersOrBytes(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "News", "1")
	proxy, ok := tx.View().Proxies.Get(svc.ID)
	require.True(t, ok)
	for field, set := range map[string]func(p *Proxy){
		"secret_token":              func(p *Proxy) { p.SecretToken = "s3cret\r\nX-Admin: yes" },
		"hostname_rewrite":          func(p *Proxy) { p.HostnameRewrite = "api.example.com\n" },
		"error_headers_auth_failed": func(p *Proxy) { p.ErrorHeadersAuthFailed = "text/plain\x00" },
		"auth_user_key":             func(p *Proxy) { p.AuthUserKey = "user key" },
		"auth_app_id":               func(p *Proxy) { p.AuthAppID = "app:id" },
	} {
		upd := *proxy
		set(&upd)
		requireField(t, tx.Update(&upd), field)
	}
	upd := *proxy
	upd.ErrorHeadersNoMatch = "text/plain; charset=us-ascii\t"
	upd.SecretToken = "a perfectly fine token"
	require.NoError(t, tx.Update(&upd), "HTAB and spaces are fine in a value")

	requireField(t, tx.Create(&Service{Name: "nul\x00name"}), "name")
	requireField(t, tx.Create(&Service{Name: "bad \xff utf-8"}), "name")
	requireField(t, tx.Create(&Service{Name: "line\nbreak"}), "name")
	requireField(t, tx.Create(&Service{Name: "Fine", Description: "ok\nmultiline \xfe"}), "description")
	require.NoError(t, tx.Create(&Service{Name: "Caf\u00e9", Description: "two\nlines"}))
}
