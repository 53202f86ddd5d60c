package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Secrets a policy chain holds where no key names them (APIcast's
// policies.json): the literal a condition compares a secret header with
// (conditional's and rate_limit's {"left", "op", "right"}, routing's
// {"match": "liquid", "liquid_value", "value"}, logging's {"match",
// "value"}); the password of a Redis URL written as its only user
// information (rate_limit's redis_url: APIcast's connect_redis takes the
// user as the password when there is no other); the password of a second
// URL in one value (a Link header the headers policy sets).
const (
	conditionRight   = "cond-right-secret-112233"
	conditionLeft    = "cond-left-secret-445566"
	liquidValueToken = "liquid-value-secret-778899"
	loggingMatched   = "logging-match-secret-101010"
	limitCondition   = "limit-cond-secret-202020"
	redisPassword    = "redis-pass-secret-303030"
	secondURLPass    = "second-url-secret-404040"
)

var policyComparedSecretsChain = []composition.PolicyConfig{
	{Name: "conditional", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"condition":{"combine_op":"or","operations":[` +
			`{"left":"{{ headers['X-Api-Key'] }}","left_type":"liquid","op":"==","right":"` + conditionRight + `","right_type":"plain"},` +
			`{"left":"` + conditionLeft + `","left_type":"plain","op":"==","right":"{{ headers.authorization }}","right_type":"liquid"},` +
			`{"left":"{{ uri }}","left_type":"liquid","op":"matches","right":"/eu-only","right_type":"plain"}]},` +
			`"policy_chain":[{"name":"echo","configuration":{"status":200}}]}`)},
	{Name: "routing", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"rules":[{"url":"https://b.example","condition":{"operations":[` +
			`{"match":"liquid","liquid_value":"{{ headers['X-Token'] }}","op":"==","value":"` + liquidValueToken + `"}]}}]}`)},
	{Name: "logging", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"enable_access_logs":false,"condition":{"operations":[` +
			`{"match":"{{ headers['X-Secret-Client'] }}","match_type":"liquid","op":"==","value":"` + loggingMatched + `","value_type":"plain"}]}}`)},
	{Name: "rate_limit", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"redis_url":"redis://` + redisPassword + `@redis.internal:6379/1",` +
			`"fixed_window_limiters":[{"key":{"name":"k","scope":"service"},"count":10,"window":60,` +
			`"condition":{"operations":[{"left":"{{ headers['X-Partner-Token'] }}","left_type":"liquid","op":"!=","right":"` + limitCondition + `"}]}}]}`)},
	{Name: "headers", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"response":[{"op":"set","header":"Link","value":` +
			`"<https://docs:first-pass@docs.example/v1>; rel=\"v1\", <https://docs:` + secondURLPass + `@docs.example/v2>; rel=\"v2\""}]}`)},
	{Name: "apicast", Version: "builtin", Enabled: true, Configuration: json.RawMessage(`{}`)},
}

// TestServicePageHidesSecretsPoliciesCompareOrJoin: "No key, token or
// password is shown" (composition.go), here for the secrets above.
func TestServicePageHidesSecretsPoliciesCompareOrJoin(t *testing.T) {
	f := newFixture(t)
	_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
		px, _ := tx.View().Proxies.Get(f.billing.ID)
		p := *px
		p.PolicyChain = policyComparedSecretsChain
		return tx.Update(&p)
	})
	require.NoError(t, err)
	path := "/ui/services/" + strconv.FormatInt(f.billing.ID, 10)
	code, body := f.get(t, path)
	require.Equal(t, http.StatusOK, code, body)
	for _, s := range []string{conditionRight, conditionLeft, liquidValueToken, loggingMatched, limitCondition,
		redisPassword, secondURLPass, "first-pass"} {
		assert.Falsef(t, strings.Contains(body, s), "%s shows the secret %q", path, s)
	}
	for _, s := range []string{"/eu-only", "{{ uri }}", "redis.internal:6379/1", "https://docs:xxxxx@docs.example/v2"} {
		assert.Truef(t, strings.Contains(body, s), "%s hides %q, which is no secret", path, s)
	}
}
