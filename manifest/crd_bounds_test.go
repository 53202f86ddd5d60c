package manifest_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// A Product or Backend is read into Portolan's own documents, which
// `portolan apply` and an image's agent send home as JSON: one the decoder
// accepts must become documents it accepts again. A limit's negative
// value, a mapping rule's increment of 0, a pricing rule without "from",
// a negative trial period or a name without a letter or digit was taken,
// then refused at home naming a field the author never wrote
// (plans[a].limits[0].value of a Service). They are refused where written.
func TestCRDsAreHeldToTheFormatsBounds(t *testing.T) {
	product := "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: P\n"
	plan := product + "  applicationPlans:\n    a:\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"negative limit", plan + "      limits:\n      - {period: day, value: -5, metricMethodRef: {systemName: hits}}\n",
			`p.yaml:8: document 1 (Product "p"): spec.applicationPlans[a].limits[0].value: -5 is less than 0`},
		{"increment 0", product + "  mappingRules:\n  - {httpMethod: GET, pattern: /a, metricMethodRef: hits, increment: 0}\n",
			`spec.mappingRules[0].increment: 0 is less than 1`},
		{"increment left out", product + "  mappingRules:\n  - {httpMethod: GET, pattern: /a, metricMethodRef: hits}\n",
			`spec.mappingRules[0].increment: is required`},
		{"negative increment", product + "  mappingRules:\n  - {httpMethod: GET, pattern: /a, metricMethodRef: hits, increment: -2}\n",
			`spec.mappingRules[0].increment: -2 is less than 1`},
		{"pricing rule without from", plan + "      pricingRules:\n      - {to: 5, pricePerUnit: 1, metricMethodRef: {systemName: hits}}\n",
			`spec.applicationPlans[a].pricingRules[0].from: is required`},
		{"negative to", plan + "      pricingRules:\n      - {from: 1, to: -1, pricePerUnit: 1, metricMethodRef: {systemName: hits}}\n",
			`spec.applicationPlans[a].pricingRules[0].to: -1 is less than 0`},
		{"negative trial", plan + "      trialPeriod: -3\n",
			`spec.applicationPlans[a].trialPeriod: -3 is less than 0`},
		{"product name without a system name", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: '!!'\n",
			`document 1 (Product): spec.systemName: is required: no system name derives from name "!!"`},
		{"backend name without a system name", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Backend\nspec:\n  name: '--'\n  privateBaseURL: http://b\n",
			`document 1 (Backend): spec.systemName: is required: no system name derives from name "--"`},
		{"derived system name too long", "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: " + strings.Repeat("p", 300) + "\n",
			`spec.systemName: is required: the system name derived from name is longer than 255 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "p.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// What the toolbox writes reads, and what it reads as reads again.
	docs, err := manifest.Load("testdata/toolbox-product.yaml")
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, manifest.Encode(&b, docs, "json"))
	again, err := manifest.Decode(&b, "again.json")
	require.NoError(t, err)
	assert.Equal(t, clearOrigins(docs), clearOrigins(again))
}
