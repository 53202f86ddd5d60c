package threescale

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// The messages of a schema refusal, in the gateway's words, without a
// coordinator: every manifest of APIcast compiles, and each kind of
// problem names its field.
func TestPolicySchemaProblemsNameTheField(t *testing.T) {
	p, err := LoadBuiltinPolicies(filepath.Join(testenv.ThreescaleDir(t), "apicast"))
	require.NoError(t, err)
	builtin, err := compileBuiltin(p)
	require.NoError(t, err, "every APIcast manifest's configuration schema compiles")
	s := &policySchemas{builtin: builtin}
	check := func(name, conf string) []string {
		return s.checkChain(composition.New(), []composition.PolicyConfig{{Name: name, Version: "builtin", Configuration: json.RawMessage(conf), Enabled: true}})
	}
	for _, tc := range []struct{ name, conf, want string }{
		{"ip_check", `{"ips":[],"check_type":"greylist"}`, `configuration.check_type: must be one of blacklist, whitelist, not "greylist"`},
		{"ip_check", `{"check_type":"blacklist"}`, `configuration.ips: is required`},
		{"ip_check", `{"check_type":"blacklist","ips":"1.2.3.4"}`, `configuration.ips: must be an array, not string`},
		{"caching", `{"caching_type":"sometimes"}`, `configuration.caching_type: must be one of strict, resilient, allow, none, not "sometimes"`},
		{"custom_metrics", `{"rules":[{"metric":"m","increment":"1","condition":{"combine_op":"and","operations":[{"left":"a","op":"<","right":"b"}]}}]}`,
			`configuration.rules[0].condition.operations[0].op: must be one of ==, !=, matches, not "<"`},
		{"content_caching", `{"rules":[{"header":"X-Cache"}]}`, `configuration.rules[0].cache: is required`},
	} {
		got := check(tc.name, tc.conf)
		assert.Contains(t, got, `policy "`+tc.name+`" (element 0 of the chain): `+tc.want, "%s %s", tc.name, tc.conf)
	}
	assert.Empty(t, check("ip_check", `{"check_type":"blacklist","ips":["1.2.3.4"]}`))
	assert.Empty(t, check("content_caching", `{"rules":[{"cache":true,"header":"X-Cache-Status",
		"condition":{"combine_op":"and","operations":[{"left":"{{uri}}","left_type":"liquid","op":"matches","right":"^/"}]}}]}`),
		"APIcast's README example, as the gateway runs it")
	assert.Empty(t, check("my_own", `{"x":1}`), "unknown policies are stored unchecked, as 3scale stores them")
}
