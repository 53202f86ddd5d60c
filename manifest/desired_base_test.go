package manifest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// exported returns the export's document of kind and name.
func exported(t *testing.T, docs []manifest.Document, kind manifest.Kind, name string) manifest.Document {
	t.Helper()
	for _, d := range docs {
		if d.Kind == kind && d.Name() == name {
			return d
		}
	}
	t.Fatalf("no %s %q in the export", kind, name)
	return manifest.Document{}
}

// TestDesiredCarriesWhatOnlyBaseHas resolves an application's service, and
// a service's backend, that the documents name but do not declare: carried
// from base unchanged, they export as base does.
func TestDesiredCarriesWhatOnlyBaseHas(t *testing.T) {
	base := buildComposition(t)
	docs := decodeOne(t, "acme.yaml", `apiVersion: portolan.dev/v1
kind: Account
org_name: Initech
applications: [{name: Reader, service: news_api, plan: gold}]
---
apiVersion: portolan.dev/v1
kind: Service
system_name: search
name: Search
backend_usages: [{backend: articles, path: /a}]
plans:
- system_name: basic
  name: Basic
  limits: [{metric: search, backend: articles, period: day, value: 5}]
`)
	c, err := manifest.Desired(docs, base)
	require.NoError(t, err)
	want, got := manifest.Export(base, manifest.ExportOptions{}), manifest.Export(c, manifest.ExportOptions{})
	assert.Equal(t, exported(t, want, manifest.KindService, "news_api"), exported(t, got, manifest.KindService, "news_api"))
	assert.Equal(t, exported(t, want, manifest.KindBackend, "articles"), exported(t, got, manifest.KindBackend, "articles"))
	news, _ := base.ServiceBySystemName("news_api")
	carried, ok := c.ServiceBySystemName("news_api")
	require.True(t, ok)
	assert.Equal(t, news.ID, carried.ID, "a carried entity keeps base's id")
	assert.Equal(t, 0, c.ApplicationPlans.Count(func(p *composition.ApplicationPlan) bool { return p.Custom }),
		"custom plans belong to applications, which are not carried")
	initech := exported(t, got, manifest.KindAccount, "Initech").Account
	assert.Equal(t, "partners", initech.Plan, "base's default account plan")
	assert.Equal(t, []manifest.Application{{Name: "Reader", Service: "news_api", Plan: "gold"}}, initech.Applications)
	assert.Len(t, got, 5, "articles, news_api, search, partners, Initech: nothing else of base")
}

// TestDesiredCarriedServiceFollowsDeclaredBackend: a carried service using a
// backend the documents declare uses the declared one, its limits following
// the metrics by name, dropped where the declared backend lacks the metric.
func TestDesiredCarriedServiceFollowsDeclaredBackend(t *testing.T) {
	base := buildComposition(t)
	docs := decodeOne(t, "articles.yaml", `apiVersion: portolan.dev/v1
kind: Backend
system_name: articles
name: Articles v2
private_endpoint: http://articles-v2.internal:8080
---
apiVersion: portolan.dev/v1
kind: Placement
name: news
selector: {service: news}
service: news_api
plans: [gold]
`)
	c, err := manifest.Desired(docs, base)
	require.NoError(t, err)
	assert.Equal(t, 1, c.BackendAPIs.Len(), "the declared backend only")
	got := manifest.Export(c, manifest.ExportOptions{})
	news := exported(t, got, manifest.KindService, "news_api").Service
	assert.Equal(t, []manifest.BackendUsage{{Backend: "articles", Path: "/store"}}, news.BackendUsages)
	assert.Len(t, news.Plans[0].Limits, 2, "basic's limits on the service's hits stay")
	gold := news.Plans[1]
	require.Equal(t, "gold", gold.SystemName)
	assert.Empty(t, gold.Limits, "the declared backend has no search metric")
	assert.Len(t, gold.PricingRules, 2, "pricing rules on the service's own metrics stay")

	docs[0].Backend.Metrics = []manifest.Metric{{SystemName: "hits", Methods: []manifest.Method{{SystemName: "search", FriendlyName: "Search v2"}}}}
	c, err = manifest.Desired(docs, base)
	require.NoError(t, err)
	gold = exported(t, manifest.Export(c, manifest.ExportOptions{}), manifest.KindService, "news_api").Service.Plans[1]
	assert.Equal(t, []manifest.Limit{{Metric: "search", Backend: "articles", Period: "month", Value: 1000}}, gold.Limits,
		"the limit follows search to the declared backend")
	search, ok := c.Metrics.Find(func(m *composition.Metric) bool { return m.SystemName == "search" })
	require.True(t, ok)
	assert.Equal(t, "Search v2", search.FriendlyName)
	assert.Equal(t, 1, c.UsageLimits.Count(func(l *composition.UsageLimit) bool { return l.MetricID == search.ID }))
}

func TestDesiredReportsWhatNeitherHas(t *testing.T) {
	docs := decodeOne(t, "acme.yaml", "apiVersion: portolan.dev/v1\nkind: Account\norg_name: Initech\nplan: nope\n"+
		"applications: [{name: Reader, service: news_api, plan: platinum}]\n")
	_, err := manifest.Desired(docs, buildComposition(t))
	var e *manifest.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "plan", e.Path)
	assert.Equal(t, `"nope" is not an account plan of the documents nor at home`, e.Msg)

	docs[0].Account.Plan = ""
	_, err = manifest.Desired(docs, buildComposition(t))
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "applications[0].plan", e.Path)
	assert.Equal(t, `"platinum" is not a plan of service "news_api"`, e.Msg)

	docs[0].Account.Applications[0].Service = "nope"
	_, err = manifest.Desired(docs, buildComposition(t))
	require.True(t, errors.As(err, &e))
	assert.Equal(t, `"nope" is not a service of the documents nor at home`, e.Msg)
}

// TestDesiredKeepsHomeSecrets: documents exported without secrets build
// what base holds, credentials and all, so that applying them to base would
// change nothing; a plain password matching base's hash keeps the hash.
func TestDesiredKeepsHomeSecrets(t *testing.T) {
	base := buildComposition(t)
	tx := composition.NewTx(base, time.Now())
	alice, ok := base.Users.Find(func(u *composition.User) bool { return u.Username == "alice" })
	require.True(t, ok)
	hashed := *alice
	var err error
	hashed.Password, err = composition.HashPassword("s3cret")
	require.NoError(t, err)
	require.NoError(t, tx.Update(&hashed))
	base = tx.Result()

	docs := manifest.Export(base, manifest.ExportOptions{})
	c, err := manifest.Desired(docs, base)
	require.NoError(t, err)
	secrets := manifest.ExportOptions{IncludeSecrets: true}
	assert.Equal(t, manifest.Export(base, secrets), manifest.Export(c, secrets))
	for _, app := range base.Applications.All() {
		got, ok := c.Applications.Find(func(a *composition.Application) bool { return a.Name == app.Name })
		require.True(t, ok)
		assert.Equal(t, app.ProviderVerificationKey, got.ProviderVerificationKey, app.Name)
	}

	acme := exported(t, docs, manifest.KindAccount, "ACME").Account
	acme.Users[0].Password = "s3cret"
	c, err = manifest.Desired(docs, base)
	require.NoError(t, err)
	u, _ := c.Users.Find(func(u *composition.User) bool { return u.Username == "alice" })
	assert.Equal(t, hashed.Password, u.Password, "the plain password base holds hashed")
	acme.Users[0].Password = "other"
	c, err = manifest.Desired(docs, base)
	require.NoError(t, err)
	u, _ = c.Users.Find(func(u *composition.User) bool { return u.Username == "alice" })
	assert.Equal(t, "other", u.Password, "another password stays as given, for the engine to hash")

	fresh, err := manifest.Desired(docs[:3], nil) // articles, news_api, weather_api
	require.NoError(t, err)
	news, _ := fresh.ServiceBySystemName("news_api")
	px, _ := fresh.Proxies.Get(news.ID)
	homeNews, _ := base.ServiceBySystemName("news_api")
	homePx, _ := base.Proxies.Get(homeNews.ID)
	assert.NotEqual(t, homePx.SecretToken, px.SecretToken, "without base, a new secret token")
}
