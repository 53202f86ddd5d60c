package policy

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Validate names each misconfigured element the gateway implements, as
// Build would refuse it, and leaves alone what it does not implement or
// what is disabled.
func TestValidateNamesEachElementAtFault(t *testing.T) {
	pc := func(name, conf string, enabled bool) composition.PolicyConfig {
		return composition.PolicyConfig{Name: name, Version: "builtin", Configuration: json.RawMessage(conf), Enabled: enabled}
	}
	err := Validate([]composition.PolicyConfig{
		pc("caching", `{"caching_type":"sometimes"}`, true),
		pc("llm", `{}`, true),
		pc("caching", `{}`, false),
		pc("apicast", `{}`, true),
		pc("custom_metrics", `{"rules":[{"metric":"m","increment":"1"}]}`, true),
	})
	require.Error(t, err)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var u *Unsupported
		require.True(t, errors.As(e, &u))
		got = append(got, e.Error())
	}
	assert.Equal(t, []string{
		`policy "caching" (element 0 of the chain): configuration.caching_type: must be one of strict, resilient, allow, none, not "sometimes"`,
		`policy "custom_metrics" (element 4 of the chain): configuration.rules[0].condition: is required`,
	}, got)
	assert.NoError(t, Validate([]composition.PolicyConfig{pc("caching", `{"caching_type":"allow"}`, true)}))
}
