package redact

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A condition comparing a secret header with a literal holds the secret in
// the literal: conditional's and rate_limit's {"left", "op", "right"}
// (either side may be the template), routing's {"match": "liquid",
// "liquid_value", "value"}, logging's {"match", "value"}. A side compared
// with a harmless template, or a literal that merely sounds secret, stays.
func TestConfigHidesWhatAConditionComparesWithASecret(t *testing.T) {
	var v any
	require.NoError(t, json.Unmarshal([]byte(`{"operations":[`+
		`{"left":"{{ headers['X-Api-Key'] }}","left_type":"liquid","op":"==","right":"right-secret-1"},`+
		`{"left":"left-secret-2","op":"==","right":"{{ headers.authorization }}","right_type":"liquid"},`+
		`{"match":"liquid","liquid_value":"{{ headers['X-Token'] }}","op":"==","value":"liquid-secret-3"},`+
		`{"match":"{{ headers['X-Secret-Client'] }}","match_type":"liquid","op":"==","value":"match-secret-4"},`+
		`{"left":"{{ uri }}","left_type":"liquid","op":"matches","right":"/api/keys"},`+
		`{"match":"header","header_name":"X-Region","op":"==","value":"eu-west"}]}`), &v))
	out, err := json.Marshal(Config(v, func(any) any { return "HIDDEN" }))
	require.NoError(t, err)
	for _, s := range []string{"right-secret-1", "left-secret-2", "liquid-secret-3", "match-secret-4"} {
		assert.NotContains(t, string(out), s)
	}
	for _, s := range []string{`"{{ uri }}"`, `"/api/keys"`, `"eu-west"`, `"{{ headers['X-Api-Key'] }}"`} {
		assert.Contains(t, string(out), s, "no secret")
	}
}
