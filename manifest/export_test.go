package manifest_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

func create(t testing.TB, tx *composition.Tx, e composition.Entity) {
	t.Helper()
	require.NoError(t, tx.Create(e))
}

// buildComposition writes a composition with a little of everything the
// documents carry: two services (one using a backend), metrics and methods,
// mapping rules, plans with limits, pricing rules and features, accounts
// with users and applications, and placements.
func buildComposition(t testing.TB) *composition.Composition {
	t.Helper()
	tx := composition.NewTx(composition.New(), time.Unix(1700000000, 0))
	news := &composition.Service{Name: "News API", Description: "The news\nin two lines", IntentionsRequired: true, ReferrerFiltersRequired: true, AlertLimits: []int{80, 100}}
	create(t, tx, news)
	weather := &composition.Service{Name: "Weather API", BackendVersion: "2", DeploymentOption: "self_managed"}
	create(t, tx, weather)
	hits, _ := tx.View().Hits(composition.OwnerService, news.ID)
	wHits, _ := tx.View().Hits(composition.OwnerService, weather.ID)
	list := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: news.ID, ParentID: hits.ID, FriendlyName: "List articles"}
	get := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: news.ID, ParentID: hits.ID, FriendlyName: "Get article"}
	bytes := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: news.ID, FriendlyName: "Bytes", Unit: "byte", Description: "bytes out"}
	for _, m := range []*composition.Metric{list, get, bytes} {
		create(t, tx, m)
	}
	backend := &composition.BackendAPI{Name: "Articles", Description: "the store", PrivateEndpoint: "http://articles.internal:8080"}
	create(t, tx, backend)
	bHits, _ := tx.View().Hits(composition.OwnerBackendAPI, backend.ID)
	search := &composition.Metric{OwnerType: composition.OwnerBackendAPI, OwnerID: backend.ID, ParentID: bHits.ID, FriendlyName: "Search"}
	create(t, tx, search)
	create(t, tx, &composition.BackendUsage{ServiceID: news.ID, BackendAPIID: backend.ID, Path: "/store"})
	create(t, tx, &composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: news.ID, MetricID: list.ID, HTTPMethod: "GET", Pattern: "/articles$", Delta: 1})
	create(t, tx, &composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: news.ID, MetricID: get.ID, HTTPMethod: "GET", Pattern: "/articles/{id}", Delta: 2, Last: true})
	create(t, tx, &composition.MappingRule{OwnerType: composition.OwnerBackendAPI, OwnerID: backend.ID, MetricID: search.ID, HTTPMethod: "ANY", Pattern: "/search", Delta: 1})
	create(t, tx, &composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: weather.ID, MetricID: wHits.ID, HTTPMethod: "GET", Pattern: "/forecast?city={c}", Delta: 1})
	basic := &composition.ApplicationPlan{ServiceID: news.ID, Name: "Basic", Default: true, State: composition.PlanPublished}
	gold := &composition.ApplicationPlan{ServiceID: news.ID, Name: "Gold", CostPerMonth: "49.99", SetupFee: "5", TrialPeriodDays: 7, ApprovalRequired: true}
	free := &composition.ApplicationPlan{ServiceID: weather.ID, Name: "Free"}
	for _, p := range []*composition.ApplicationPlan{basic, gold, free} {
		create(t, tx, p)
	}
	create(t, tx, &composition.UsageLimit{PlanID: basic.ID, MetricID: hits.ID, Period: "day", Value: 100})
	create(t, tx, &composition.UsageLimit{PlanID: basic.ID, MetricID: hits.ID, Period: "minute", Value: 5})
	create(t, tx, &composition.UsageLimit{PlanID: gold.ID, MetricID: search.ID, Period: "month", Value: 1000})
	create(t, tx, &composition.PricingRule{PlanID: gold.ID, MetricID: bytes.ID, CostPerUnit: "0.001", Min: 1, Max: 500})
	create(t, tx, &composition.PricingRule{PlanID: gold.ID, MetricID: bytes.ID, CostPerUnit: "0.0005", Min: 501})
	sla := &composition.Feature{OwnerType: composition.OwnerService, OwnerID: news.ID, Name: "SLA", Description: "99.9%", Visible: true}
	create(t, tx, sla)
	_, err := tx.EnableFeature(sla.ID, gold.ID)
	require.NoError(t, err)
	px, _ := tx.View().Proxies.Get(news.ID)
	pxu := *px
	pxu.Endpoint = "https://news.example.com"
	pxu.CredentialsLocation = composition.CredentialsHeaders
	pxu.ErrorStatusLimitsExceeded = 503
	pxu.PolicyChain = append([]composition.PolicyConfig{{Name: "cors", Version: "builtin", Configuration: json.RawMessage(`{"allow_origin": "*", "max_age": 60}`), Enabled: true}}, px.PolicyChain...)
	require.NoError(t, tx.Update(&pxu))
	partners := &composition.AccountPlan{Name: "Partners", State: composition.PlanPublished, Default: true}
	create(t, tx, partners)
	create(t, tx, &composition.AccountPlan{Name: "Retail", CostPerMonth: "9.5", SetupFee: "1", TrialPeriodDays: 30, CancellationPeriod: 2, ApprovalRequired: true})
	acme := &composition.Account{OrgName: "ACME", City: "Madrid", BillingAddress: map[string]string{"country": "ES"}}
	create(t, tx, acme)
	create(t, tx, &composition.User{AccountID: acme.ID, Username: "alice", Email: "alice@acme.example", Role: composition.RoleAdmin, Password: "pw"})
	create(t, tx, &composition.Application{AccountID: acme.ID, PlanID: basic.ID, Name: "Reader", Description: "reads"})
	create(t, tx, &composition.Application{AccountID: acme.ID, PlanID: free.ID, Name: "Weather app"})
	zeta := &composition.Account{OrgName: "Zeta"}
	create(t, tx, zeta)
	custom := &composition.ApplicationPlan{ServiceID: news.ID, Name: "Gold (custom)", SystemName: "gold_custom", OriginalID: gold.ID}
	create(t, tx, custom)
	create(t, tx, &composition.Application{AccountID: zeta.ID, PlanID: custom.ID, Name: "Zeta gold"})
	create(t, tx, &composition.Placement{Selector: composition.Selector{Service: "news", Labels: map[string]string{"tier": "gold"}}, ServiceID: news.ID, PlanIDs: []int64{gold.ID}})
	create(t, tx, &composition.Placement{Name: "weather-all", Selector: composition.Selector{Service: "weather"}, ServiceID: weather.ID})
	return tx.Result()
}

// clearOrigins forgets where documents were read, to compare them with
// exported ones.
func clearOrigins(docs []manifest.Document) []manifest.Document {
	for i := range docs {
		docs[i].Origin = manifest.Origin{}
	}
	return docs
}

func TestExportedDocumentsDecodeToThemselves(t *testing.T) {
	c := buildComposition(t)
	for _, secrets := range []bool{false, true} {
		docs := manifest.Export(c, manifest.ExportOptions{IncludeSecrets: secrets})
		for _, format := range []string{"yaml", "json"} {
			var b bytes.Buffer
			require.NoError(t, manifest.Encode(&b, docs, format))
			got, err := manifest.Decode(&b, "export."+format)
			require.NoError(t, err, "%s:\n%s", format, b.String())
			assert.Equal(t, docs, clearOrigins(got), "secrets %v, %s", secrets, format)
		}
	}
}

func TestExportNamesEverythingBySystemName(t *testing.T) {
	docs := manifest.Export(buildComposition(t), manifest.ExportOptions{})
	var kinds []manifest.Kind
	var names []string
	for _, d := range docs {
		kinds = append(kinds, d.Kind)
		names = append(names, d.Name())
	}
	assert.Equal(t, []manifest.Kind{"Backend", "Service", "Service", "AccountPlan", "AccountPlan", "Account", "Account", "Placement", "Placement"}, kinds)
	assert.Equal(t, []string{"articles", "news_api", "weather_api", "partners", "retail", "ACME", "Zeta", "news", "weather-all"}, names)

	news := docs[1].Service
	assert.Equal(t, []manifest.Metric{
		{SystemName: "hits", FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits", Methods: []manifest.Method{
			{SystemName: "get_article", FriendlyName: "Get article", Unit: "hit"},
			{SystemName: "list_articles", FriendlyName: "List articles", Unit: "hit"},
		}},
		{SystemName: "bytes", FriendlyName: "Bytes", Unit: "byte", Description: "bytes out"},
	}, news.Metrics)
	assert.Equal(t, []manifest.MappingRule{
		{HTTPMethod: "GET", Pattern: "/articles$", Metric: "list_articles", Delta: 1, Position: 1},
		{HTTPMethod: "GET", Pattern: "/articles/{id}", Metric: "get_article", Delta: 2, Last: true, Position: 2},
	}, news.MappingRules)
	assert.Equal(t, []manifest.BackendUsage{{Backend: "articles", Path: "/store"}}, news.BackendUsages)
	require.Len(t, news.Plans, 2)
	basic, gold := news.Plans[0], news.Plans[1]
	assert.Equal(t, []manifest.Limit{{Metric: "hits", Period: "minute", Value: 5}, {Metric: "hits", Period: "day", Value: 100}}, basic.Limits)
	assert.True(t, basic.Default)
	assert.Equal(t, []manifest.Limit{{Metric: "search", Backend: "articles", Period: "month", Value: 1000}}, gold.Limits)
	assert.Equal(t, []manifest.PricingRule{
		{Metric: "bytes", CostPerUnit: "0.001", Min: 1, Max: 500},
		{Metric: "bytes", CostPerUnit: "0.0005", Min: 501},
	}, gold.PricingRules)
	assert.Equal(t, []string{"sla"}, gold.Features)
	assert.Equal(t, []manifest.Feature{{SystemName: "sla", Name: "SLA", Description: "99.9%", Scope: "application_plan", Visible: true}}, news.Features)
	assert.JSONEq(t, `{"allow_origin":"*","max_age":60}`, string(news.Proxy.PolicyChain[0].Configuration))
	assert.Equal(t, "headers", news.Proxy.CredentialsLocation)
	assert.Empty(t, news.Proxy.SecretToken, "no secrets unless asked")

	assert.Equal(t, &manifest.AccountPlan{SystemName: "partners", Name: "Partners", State: "published", Default: true}, docs[3].AccountPlan)
	assert.Equal(t, &manifest.AccountPlan{SystemName: "retail", Name: "Retail", State: "hidden", ApprovalRequired: true,
		SetupFee: "1.0", CostPerMonth: "9.5", TrialPeriodDays: 30, CancellationPeriod: 2}, docs[4].AccountPlan)
	acme := docs[5].Account
	assert.Equal(t, "partners", acme.Plan)
	assert.Equal(t, []manifest.User{{Username: "alice", Email: "alice@acme.example", Role: "admin"}}, acme.Users)
	assert.Equal(t, []manifest.Application{
		{Name: "Reader", Description: "reads", Service: "news_api", Plan: "basic"},
		{Name: "Weather app", Service: "weather_api", Plan: "free"},
	}, acme.Applications)
	assert.Equal(t, []manifest.Application{{Name: "Zeta gold", Service: "news_api", Plan: "gold"}}, docs[6].Account.Applications,
		"an application on a custom plan names the plan it was copied from")
	assert.Equal(t, &manifest.Placement{Name: "news", Selector: manifest.Selector{Service: "news", Labels: map[string]string{"tier": "gold"}},
		Service: "news_api", Plans: []string{"gold"}}, docs[7].Placement)
}

func TestExportWithSecretsCarriesCredentials(t *testing.T) {
	c := buildComposition(t)
	docs := manifest.Export(c, manifest.ExportOptions{IncludeSecrets: true})
	news := docs[1].Service
	assert.True(t, strings.HasPrefix(news.Proxy.SecretToken, "Shared_secret_sent_from_proxy_to_API_backend_"), news.Proxy.SecretToken)
	acme := docs[5].Account
	assert.NotEmpty(t, acme.Users[0].Password)
	assert.NotEmpty(t, acme.Applications[0].UserKey, "news takes user keys")
	assert.NotEmpty(t, acme.Applications[1].ApplicationID, "weather takes app ids")
	assert.Len(t, acme.Applications[1].Keys, 1)
}

func TestEncodedYAMLReadsAsWrittenByHand(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, manifest.Encode(&b, manifest.Export(buildComposition(t), manifest.ExportOptions{}), "yaml"))
	out := b.String()
	for _, want := range []string{
		"apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: articles\n",
		"\n---\napiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news_api\n",
		"description: |-\n  The news\n  in two lines\n",
		"backend_version: \"1\"\n",
		"cost_per_unit: 0.001\n",
		"configuration: {}\n",
	} {
		assert.Contains(t, out, want)
	}
}

// An application on a custom plan is exported on its original plan; the
// loss is said, one line per application.
func TestCustomPlanLossesNameEachApplication(t *testing.T) {
	assert.Equal(t, []string{
		`application "Zeta gold" of account "Zeta" (service "news_api") is on custom plan "gold_custom": exported on its original plan "gold", without the custom plan's own limits, pricing rules and prices`,
	}, manifest.CustomPlanLosses(buildComposition(t)))
	assert.Empty(t, manifest.CustomPlanLosses(composition.New()))
}
