package manifest_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

func TestToolboxProductExportDecodesToServiceAndBackend(t *testing.T) {
	docs, err := manifest.Load("testdata/toolbox-product.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Equal(t, manifest.Origin{Source: "testdata/toolbox-product.yaml", Index: 2, Line: 118}, docs[1].Origin)
	clearOrigins(docs)
	want := []manifest.Document{{Kind: manifest.KindService, Service: &manifest.Service{
		SystemName: "pets", Name: "Pets", Description: "The pet store",
		DeploymentOption: "hosted", BackendVersion: "1",
		Proxy: &manifest.Proxy{
			CredentialsLocation: "headers", AuthUserKey: "api-key", HostnameRewrite: "pets.internal", SecretToken: "s3cret",
			ErrorAuthFailed: "Authentication failed", ErrorStatusAuthFailed: 403, ErrorHeadersAuthFailed: "text/plain; charset=us-ascii",
			ErrorAuthMissing: "Authentication parameters missing", ErrorStatusAuthMissing: 401, ErrorHeadersAuthMissing: "text/plain; charset=us-ascii",
			ErrorNoMatch: "No Mapping Rule matched", ErrorStatusNoMatch: 404, ErrorHeadersNoMatch: "text/plain; charset=us-ascii",
			ErrorLimitsExceeded: "Usage limit exceeded", ErrorStatusLimitsExceeded: 429, ErrorHeadersLimitsExceeded: "text/plain; charset=us-ascii",
			PolicyChain: []manifest.Policy{
				{Name: "cors", Version: "builtin", Configuration: []byte(`{"allow_origin":"*"}`), Enabled: true},
				{Name: "apicast", Version: "builtin", Configuration: []byte(`{}`), Enabled: true},
			},
		},
		Metrics: []manifest.Metric{
			{SystemName: "hits", FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits",
				Methods: []manifest.Method{{SystemName: "list_pets", FriendlyName: "List pets", Description: "lists them"}}},
			{SystemName: "uploads", FriendlyName: "Uploads", Unit: "MB"},
		},
		MappingRules: []manifest.MappingRule{
			{HTTPMethod: "GET", Pattern: "/pets$", Metric: "list_pets", Delta: 1, Position: 1},
			{HTTPMethod: "POST", Pattern: "/pets", Metric: "hits", Delta: 2, Last: true, Position: 2},
		},
		BackendUsages: []manifest.BackendUsage{{Backend: "pet_store", Path: "/"}},
		Plans: []manifest.Plan{
			{SystemName: "basic", Name: "Basic", State: "published", Limits: []manifest.Limit{{Metric: "hits", Period: "day", Value: 1000}}},
			{SystemName: "gold", Name: "Gold", State: "hidden", ApprovalRequired: true, TrialPeriodDays: 30, SetupFee: "10.0", CostPerMonth: "99.5",
				Limits: []manifest.Limit{{Metric: "status", Backend: "pet_store", Period: "month", Value: 50000}},
				PricingRules: []manifest.PricingRule{
					{Metric: "list_pets", CostPerUnit: "0.05", Min: 1, Max: 100},
					{Metric: "list_pets", CostPerUnit: "0.01", Min: 101},
				}},
		},
	}}, {Kind: manifest.KindBackend, Backend: &manifest.Backend{
		SystemName: "pet_store", Name: "Pet store", Description: "the upstream", PrivateEndpoint: "https://petstore.example.com:443",
		Metrics: []manifest.Metric{{SystemName: "hits", FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits",
			Methods: []manifest.Method{{SystemName: "status", FriendlyName: "status"}}}},
		MappingRules: []manifest.MappingRule{{HTTPMethod: "GET", Pattern: "/status", Metric: "status", Delta: 1, Position: 1}},
	}}}
	assert.Equal(t, want, docs)

	// Written back in Portolan's own format, it reads the same.
	var b bytes.Buffer
	require.NoError(t, manifest.Encode(&b, docs, "yaml"))
	again, err := manifest.Decode(&b, "again.yaml")
	require.NoError(t, err)
	assert.Equal(t, want, clearOrigins(again))
}

func TestOperatorProductVariants(t *testing.T) {
	const product = `apiVersion: capabilities.3scale.net/v1beta1
kind: Product
metadata: {name: weather}
spec:
  name: Weather Service
  deployment:
    apicastSelfManaged:
      productionPublicBaseURL: https://weather.example.com
      stagingPublicBaseURL: https://staging.weather.example.com
      authentication:
        %s
  applicationPlans:
    free:
      published: true
`
	for _, tc := range []struct {
		name, auth string
		version    string
		proxy      manifest.Proxy
	}{
		{"app id and key", "appKeyAppID: {appID: id, appKey: key, credentials: query}", "2",
			manifest.Proxy{AuthAppID: "id", AuthAppKey: "key", CredentialsLocation: "query"}},
		{"oidc", "oidc: {issuerType: keycloak, issuerEndpoint: 'https://sso.example/realms/x', authenticationFlow: {standardFlowEnabled: true}, jwtClaimWithClientID: azp, jwtClaimWithClientIDType: plain}", "oidc",
			manifest.Proxy{OIDCIssuerType: "keycloak", OIDCIssuerEndpoint: "https://sso.example/realms/x", OIDC: &manifest.OIDCFlows{StandardFlowEnabled: true},
				JwtClaimWithClientID: "azp", JwtClaimWithClientIDType: "plain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := manifest.Decode(strings.NewReader(strings.Replace(product, "%s", tc.auth, 1)), "weather.yaml")
			require.NoError(t, err)
			require.Len(t, docs, 1)
			s := docs[0].Service
			assert.Equal(t, "weather_service", s.SystemName, "named as 3scale names it")
			assert.Equal(t, "self_managed", s.DeploymentOption)
			assert.Equal(t, tc.version, s.BackendVersion)
			tc.proxy.Endpoint, tc.proxy.SandboxEndpoint = "https://weather.example.com", "https://staging.weather.example.com"
			assert.Equal(t, tc.proxy, *s.Proxy)
			assert.Equal(t, []manifest.Plan{{SystemName: "free", Name: "free", State: "published"}}, s.Plans)
			assert.Equal(t, []manifest.Metric{{SystemName: "hits", FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits"}}, s.Metrics,
				"hits as the operator adds it")
		})
	}
}

func TestCRDErrorsNameTheResource(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown spec field", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: P\n  systemName: p\n  plans: {}\n",
			`p.yaml:6: document 1 (Product "p"): spec.plans: unknown field`},
		{"bad period", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: P\n  applicationPlans:\n    basic:\n      limits: [{period: dai, value: 1, metricMethodRef: {systemName: hits}}]\n",
			`p.yaml:7: document 1 (Product "p"): spec.applicationPlans[basic].limits[0].period: "dai" is not one of eternity, year, month, week, day, hour, minute`},
		{"unknown metric", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Backend\nspec:\n  name: B\n  privateBaseURL: http://b\n  mappingRules: [{httpMethod: GET, pattern: /, metricMethodRef: nope, increment: 1}]\n",
			`document 1 (Backend "b"): mapping_rules[0].metric: "nope" is not a metric or method of its owner`},
		{"secret reference", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: P\n  policies: [{name: x, configurationRef: {name: s}}]\n",
			`spec.policies[0].configurationRef: a Kubernetes Secret is not read here`},
		{"other kind", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Tenant\nspec: {}\n",
			`kind: "Tenant" is not one of Product, Backend`},
		{"bad status", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: P\n  deployment: {apicastHosted: {authentication: {userkey: {gatewayResponse: {errorStatusNoMatch: 'x'}}}}}\n",
			`gatewayResponse.errorStatusNoMatch: "x" is not an integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "p.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
