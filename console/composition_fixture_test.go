package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
	"github.com/portolan/portolan/usage"
)

// fixture is a console over a real bbolt composition, a real usage store
// and a real registry, with known secrets planted everywhere the
// composition keeps one.
type fixture struct {
	console *Console
	store   *boltstore.Store
	usage   *usage.Store
	now     time.Time

	news, billing             *composition.Service
	hits, search, billingHits *composition.Metric
	basic, free               *composition.ApplicationPlan
	reader, weather, ledger   *composition.Application
	acme                      *composition.Account
	secrets                   []string
}

// The planted secrets: letters, digits and dashes only, so HTML escaping
// cannot hide one from a substring search.
const (
	readerUserKey  = "uk-reader-secret-7f3a9c"
	weatherUserKey = "uk-weather-secret-41d0e2"
	ledgerAppID    = "appid-ledger-secret-9b"
	ledgerKey1     = "appkey-ledger-secret-one-55"
	ledgerKey2     = "appkey-ledger-secret-two-66"
	proxyToken     = "proxy-secret-token-c0ffee"
	headerSecret   = "Bearer-header-secret-1234"
	clientSecret   = "client-secret-in-policy-8888"
	apiKeySecret   = 918273645501
	urlPassword    = "url-password-secret-3141"
	oidcPassword   = "oidc-password-secret-2718"
	backendPass    = "backend-password-secret-1618"
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{now: time.Now().UTC()}
	var err error
	f.store, err = boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.store.Close() })
	_, err = f.store.Update(context.Background(), f.compose(t))
	require.NoError(t, err)
	snap := f.store.Snapshot()
	for _, a := range snap.Applications.All() {
		f.secrets = append(f.secrets, a.ProviderVerificationKey)
	}
	f.secrets = append(f.secrets, readerUserKey, weatherUserKey, ledgerAppID, ledgerKey1, ledgerKey2, proxyToken,
		headerSecret, clientSecret, "918273645501", urlPassword, oidcPassword, backendPass)

	f.usage, err = usage.Open(t.TempDir(), f.now, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.usage.Close() })

	reg, err := registry.New(registry.Config{Store: f.store, Logger: zerolog.Nop()})
	require.NoError(t, err)
	f.console, err = New(Config{Snapshot: f.store.Snapshot, Map: reg, Usage: f.usage,
		Tokens: threescale.NewTokenChecker("console-test-token"), Version: "test", Logger: zerolog.Nop(),
		Now: func() time.Time { return f.now }})
	require.NoError(t, err)
	return f
}

func (f *fixture) compose(t testing.TB) func(tx *composition.Tx) error {
	return func(tx *composition.Tx) error {
		create := func(e composition.Entity) { require.NoError(t, tx.Create(e)) }
		f.news = &composition.Service{Name: "News API", SystemName: "news", BackendVersion: "1", Description: "the daily news"}
		create(f.news)
		f.hits, _ = tx.View().Hits(composition.OwnerService, f.news.ID)
		f.search = &composition.Metric{OwnerType: composition.OwnerService, OwnerID: f.news.ID, ParentID: f.hits.ID, FriendlyName: "Search"}
		create(f.search)
		create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.news.ID, MetricID: f.search.ID,
			HTTPMethod: "GET", Pattern: "/search/{term}", Delta: 2, Position: 1, Last: true})
		backend := &composition.BackendAPI{Name: "Newsroom", SystemName: "newsroom",
			PrivateEndpoint: "https://svc:" + backendPass + "@newsroom.internal:8443"}
		create(backend)
		create(&composition.BackendUsage{ServiceID: f.news.ID, BackendAPIID: backend.ID, Path: "/v1"})

		px, _ := tx.View().Proxies.Get(f.news.ID)
		p := *px
		p.SecretToken = proxyToken
		p.Endpoint = "https://news.example.com"
		p.OIDCIssuerEndpoint = "https://portolan:" + oidcPassword + "@idp.example.com/realms/news"
		p.PolicyChain = []composition.PolicyConfig{
			{Name: "headers", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
				`{"request":[{"op":"set","header":"Authorization","value":"` + headerSecret + `","value_type":"plain"},` +
					`{"op":"set","header":"X-Tenant","value":"acme-tenant","value_type":"plain"}]}`)},
			{Name: "my_auth", Version: "1.2.0", Enabled: false, Configuration: json.RawMessage(
				`{"client_secret":"` + clientSecret + `","api_key":918273645501,"upstream":"https://u:` + urlPassword +
					`@auth.example.com/token","realm":"news-realm"}`)},
			{Name: "apicast", Version: "builtin", Enabled: true, Configuration: json.RawMessage(`{}`)},
		}
		require.NoError(t, tx.Update(&p))

		f.basic = &composition.ApplicationPlan{ServiceID: f.news.ID, Name: "Basic", SystemName: "basic", CostPerMonth: "9.5"}
		create(f.basic)
		f.free = &composition.ApplicationPlan{ServiceID: f.news.ID, Name: "Free", SystemName: "free"}
		create(f.free)
		create(&composition.UsageLimit{PlanID: f.basic.ID, MetricID: f.hits.ID, Period: "hour", Value: 1000})
		create(&composition.UsageLimit{PlanID: f.basic.ID, MetricID: f.hits.ID, Period: "day", Value: 5000})
		create(&composition.UsageLimit{PlanID: f.basic.ID, MetricID: f.search.ID, Period: "minute", Value: 0})
		create(&composition.PricingRule{PlanID: f.basic.ID, MetricID: f.search.ID, CostPerUnit: "0.25", Min: 1, Max: 100})
		create(&composition.PricingRule{PlanID: f.basic.ID, MetricID: f.search.ID, CostPerUnit: "0.10", Min: 101})

		f.acme = &composition.Account{OrgName: "ACME Corp"}
		create(f.acme)
		zeta := &composition.Account{OrgName: "Zeta Ltd"}
		create(zeta)
		f.reader = &composition.Application{AccountID: f.acme.ID, PlanID: f.basic.ID, Name: "Reader", UserKey: readerUserKey}
		create(f.reader)
		f.weather = &composition.Application{AccountID: zeta.ID, PlanID: f.free.ID, Name: "Weather", UserKey: weatherUserKey}
		create(f.weather)

		f.billing = &composition.Service{Name: "Billing", SystemName: "billing", BackendVersion: "2"}
		create(f.billing)
		f.billingHits, _ = tx.View().Hits(composition.OwnerService, f.billing.ID)
		gold := &composition.ApplicationPlan{ServiceID: f.billing.ID, Name: "Gold", SystemName: "gold"}
		create(gold)
		f.ledger = &composition.Application{AccountID: f.acme.ID, PlanID: gold.ID, Name: "Ledger",
			AppID: ledgerAppID, AppKeys: []string{ledgerKey1, ledgerKey2}}
		create(f.ledger)
		return nil
	}
}

// addHits adds n hits of metric by app at f.now minus ago, through the
// usage store's own Apply (what agents' batches go through).
func (f *fixture) addHits(t testing.TB, service, app, metric int64, ago time.Duration, n int64) {
	t.Helper()
	at := f.now.Add(-ago)
	_, err := f.usage.Apply(context.Background(), "", service,
		[]usage.Increment{{App: app, Metric: metric, Minute: at.Unix() / 60, Delta: n}}, f.now)
	require.NoError(t, err)
}

// get serves path through the console's ServeHTTP, as the coordinator does.
func (f *fixture) get(t testing.TB, path string) (int, string) {
	t.Helper()
	w := f.recorder(t, path)
	body, err := io.ReadAll(w.Result().Body)
	require.NoError(t, err)
	return w.Code, string(body)
}

// recorder serves path to a signed-in operator and returns the whole answer.
func (f *fixture) recorder(t testing.TB, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	f.console.ServeHTTP(w, signedInRequest(f.console, path))
	return w
}

// requireNoSecret fails when any planted secret is in body.
func (f *fixture) requireNoSecret(t testing.TB, path, body string) {
	t.Helper()
	for _, s := range f.secrets {
		require.NotContainsf(t, body, s, "%s shows a secret", path)
	}
}
