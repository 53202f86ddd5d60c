package composition

import (
	"encoding/json"
	"testing"

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
	gold := &ApplicationPlan{ServiceID: news.ID, Name: "Gold", CostPerMonth: "99.5", SetupFee: "10", TrialPeriodDays: 30}
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
	partner := &AccountPlan{Name: "Partner", CostPerMonth: "50", TrialPeriodDays: 14}
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

func docCounts(d *Document) map[Kind]int {
	out := map[Kind]int{}
	for _, k := range Kinds {
		out[k] = len(d.entities(k))
	}
	return out
}

// docEntityCount returns how many entities d holds.
func docEntityCount(d *Document) int {
	n := 0
	for _, k := range Kinds {
		n += len(d.entities(k))
	}
	return n
}
