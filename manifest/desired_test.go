package manifest_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// TestDesiredRoundTripsAnExport holds Export → Desired → Export to the same
// documents, secrets or not, for a composition with a little of everything:
// backends, metrics, methods, mapping rules, usages, plans with limits,
// pricing rules and features, proxy settings and a policy chain, accounts
// with users and applications (one on a custom plan), placements.
func TestDesiredRoundTripsAnExport(t *testing.T) {
	c := buildComposition(t)
	for _, secrets := range []bool{false, true} {
		opts := manifest.ExportOptions{IncludeSecrets: secrets}
		docs := manifest.Export(c, opts)
		desired, err := manifest.Desired(docs, c) // c holds the account plan, which no document declares
		require.NoError(t, err)
		assert.Equal(t, docs, manifest.Export(desired, opts), "secrets %v", secrets)
	}
}

// TestDesiredIsFreshAndValid checks Desired writes through the create paths:
// ids of its own (above base's), hits and proxies made, 3scale's defaults.
func TestDesiredIsFreshAndValid(t *testing.T) {
	docs, err := manifest.Load("testdata/desired-minimal.yaml")
	require.NoError(t, err)
	c, err := manifest.Desired(docs, nil)
	require.NoError(t, err)
	news, ok := c.ServiceBySystemName("news")
	require.True(t, ok)
	assert.Equal(t, "incomplete", news.State)
	assert.Equal(t, composition.ProviderAccountID, news.AccountID)
	px, ok := c.Proxies.Get(news.ID)
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(px.SecretToken, "Shared_secret_sent_from_proxy_to_API_backend_"), "3scale's generated secret token")
	assert.Equal(t, "/", px.APITestPath)
	hits, ok := c.Hits(composition.OwnerService, news.ID)
	require.True(t, ok)
	assert.Equal(t, "Number of API hits", hits.Description)
	apps := c.Applications.All()
	require.Len(t, apps, 2)
	for _, a := range apps {
		assert.NotEmpty(t, a.AppID, "backend_version 2: an app id is generated")
		assert.Len(t, a.AppKeys, 1)
		assert.Equal(t, news.ID, a.ServiceID)
	}

	base := buildComposition(t)
	again, err := manifest.Desired(docs, base)
	require.NoError(t, err)
	store, ok := again.BackendAPIs.Find(func(b *composition.BackendAPI) bool { return b.SystemName == "store" })
	require.True(t, ok)
	assert.Greater(t, store.ID, base.LastID, "fresh ids never collide with base's")
	want := manifest.Export(c, manifest.ExportOptions{})
	require.Equal(t, manifest.KindAccount, want[2].Kind)
	want[2].Account.Plan = "partners" // without a plan, an account goes on base's default account plan, as 3scale's signup puts it
	for _, d := range manifest.Export(base, manifest.ExportOptions{}) {
		if d.Kind == manifest.KindAccountPlan && d.Name() == "partners" {
			want = slices.Insert(want, 2, d) // carried over from base
		}
	}
	assert.Equal(t, want, manifest.Export(again, manifest.ExportOptions{}), "base only resolves what the documents do not declare")
}

// TestDesiredFillsDefaults reads documents that leave 3scale's defaults out,
// in any order, and exports them filled in canonical form.
func TestDesiredFillsDefaults(t *testing.T) {
	want, err := os.ReadFile("testdata/desired-news.yaml")
	require.NoError(t, err)
	for _, fixture := range []string{"testdata/desired-minimal.yaml", "testdata/desired-news.yaml"} {
		docs, err := manifest.Load(fixture)
		require.NoError(t, err)
		c, err := manifest.Desired(docs, nil)
		require.NoError(t, err, fixture)
		var b bytes.Buffer
		require.NoError(t, manifest.Encode(&b, manifest.Export(c, manifest.ExportOptions{}), "yaml"))
		assert.Equal(t, string(want), b.String(), fixture)
	}
}

// TestDesiredReadsTheToolboxCRDs builds the toolbox's Product and Backend
// export, and holds its own export to a fixed point.
func TestDesiredReadsTheToolboxCRDs(t *testing.T) {
	docs, err := manifest.Load("testdata/toolbox-product.yaml")
	require.NoError(t, err)
	c, err := manifest.Desired(docs, nil)
	require.NoError(t, err)
	pets, ok := c.ServiceBySystemName("pets")
	require.True(t, ok)
	px, _ := c.Proxies.Get(pets.ID)
	assert.Equal(t, "s3cret", px.SecretToken)
	assert.Equal(t, "pets.internal", px.HostnameRewrite)
	assert.Equal(t, int64(401), px.ErrorStatusAuthMissing)
	require.Len(t, px.PolicyChain, 2)
	assert.Equal(t, "cors", px.PolicyChain[0].Name)
	assert.Len(t, c.PlansOf(pets.ID), 2)
	gold, ok := c.ApplicationPlans.Find(func(p *composition.ApplicationPlan) bool { return p.SystemName == "gold" })
	require.True(t, ok)
	limit, ok := c.UsageLimits.Find(func(l *composition.UsageLimit) bool { return l.PlanID == gold.ID })
	require.True(t, ok)
	m, _ := c.Metrics.Get(limit.MetricID)
	api, _ := c.BackendAPIs.Get(m.OwnerID)
	assert.Equal(t, []string{"status", composition.OwnerBackendAPI, "pet_store"}, []string{m.SystemName, m.OwnerType, api.SystemName})
	assert.Equal(t, 2, c.PricingRules.Count(func(r *composition.PricingRule) bool { return r.PlanID == gold.ID }))

	exported := manifest.Export(c, manifest.ExportOptions{IncludeSecrets: true})
	again, err := manifest.Desired(exported, nil)
	require.NoError(t, err)
	assert.Equal(t, exported, manifest.Export(again, manifest.ExportOptions{IncludeSecrets: true}))
}

// decodeOne decodes YAML documents that must be accepted.
func decodeOne(t *testing.T, source, yaml string) []manifest.Document {
	t.Helper()
	docs, err := manifest.Decode(strings.NewReader(yaml), source)
	require.NoError(t, err)
	return docs
}

// TestDesiredNamesDocumentEntityAndField checks what the decoder accepts but
// 3scale refuses, or what refers to nothing, is an *Error naming where.
func TestDesiredNamesDocumentEntityAndField(t *testing.T) {
	const service = "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n"
	const account = "apiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\n"
	for _, tc := range []struct {
		name, yaml string
		want       manifest.Error
	}{
		{"metric without unit", service + "metrics:\n- {system_name: bytes, friendly_name: Bytes}\n",
			manifest.Error{Index: 1, Kind: "Service", Name: "news", Path: "metrics[bytes].unit", Msg: "can't be blank"}},
		{"method without friendly name", service + "metrics:\n- {system_name: hits, methods: [{system_name: list}]}\n",
			manifest.Error{Index: 1, Kind: "Service", Name: "news", Path: "metrics[hits].methods[list].friendly_name", Msg: "can't be blank"}},
		{"endpoint not a URL", service + "proxy: {endpoint: 'not a url'}\n",
			manifest.Error{Index: 1, Kind: "Service", Name: "news", Path: "proxy.endpoint"}},
		{"policy without version", service + "proxy: {policy_chain: [{name: cors}]}\n",
			manifest.Error{Index: 1, Kind: "Service", Name: "news", Path: "proxy.policy_chain[0].version", Msg: "can't be blank"}},
		{"backend declared nowhere", service + "backend_usages: [{backend: store}]\n",
			manifest.Error{Index: 1, Kind: "Service", Name: "news", Path: "backend_usages[store].backend", Msg: `"store" is not a backend of the documents`}},
		{"service-plan feature on an application plan", service +
			"features: [{system_name: sla, name: SLA, scope: service_plan}]\nplans: [{system_name: basic, name: Basic, features: [sla]}]\n",
			manifest.Error{Index: 1, Kind: "Service", Name: "news", Path: "plans[basic].features[0]", Msg: `"sla" is a service plan feature`}},
		{"application of a service declared nowhere", service + "---\n" + account + "applications: [{name: App, service: weather, plan: basic}]\n",
			manifest.Error{Index: 2, Kind: "Account", Name: "ACME", Path: "applications[0].service", Msg: `"weather" is not a service of the documents`}},
		{"account plan with no base", account + "plan: partners\n",
			manifest.Error{Index: 1, Kind: "Account", Name: "ACME", Path: "plan"}},
		{"bad referrer filter", service + "plans: [{system_name: basic, name: Basic}]\n---\n" + account +
			"applications: [{name: App, service: news, plan: basic, referrer_filters: ['a b']}]\n",
			manifest.Error{Index: 2, Kind: "Account", Name: "ACME", Path: "applications[0].referrer_filters[0]"}},
		{"bad username", account + "users: [{username: 'a b'}]\n",
			manifest.Error{Index: 1, Kind: "Account", Name: "ACME", Path: "users[a b].username", Msg: "is invalid"}},
		{"placement of a service declared nowhere", "apiVersion: portolan.dev/v1\nkind: Placement\nname: p\nselector: {service: x}\nservice: x\n",
			manifest.Error{Index: 1, Kind: "Placement", Name: "p", Path: "service"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs := decodeOne(t, "news.yaml", tc.yaml)
			c, err := manifest.Desired(docs, nil)
			require.Error(t, err)
			assert.Nil(t, c)
			var e *manifest.Error
			require.True(t, errors.As(err, &e), "%T %v", err, err)
			assert.Equal(t, "news.yaml", e.Source)
			assert.Equal(t, tc.want.Index, e.Index)
			assert.Equal(t, tc.want.Kind, e.Kind)
			assert.Equal(t, tc.want.Name, e.Name)
			assert.Equal(t, tc.want.Path, e.Path)
			assert.Contains(t, e.Msg, tc.want.Msg)
			assert.Positive(t, e.Line)
			assert.Contains(t, err.Error(), "news.yaml:")
			t.Log(err)
		})
	}
}

func TestDesiredRefusesMalformedDocuments(t *testing.T) {
	for _, d := range []manifest.Document{
		{Kind: manifest.KindService},
		{Kind: "Product", Service: &manifest.Service{SystemName: "a", Name: "A"}},
		{Kind: manifest.KindService, Service: &manifest.Service{SystemName: "a", Name: "A"}, Account: &manifest.Account{OrgName: "B"}},
	} {
		_, err := manifest.Desired([]manifest.Document{d}, nil)
		var e *manifest.Error
		require.True(t, errors.As(err, &e), "%v", err)
		assert.Equal(t, "kind", e.Path)
	}
}
