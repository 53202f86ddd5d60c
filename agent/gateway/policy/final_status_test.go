package policy

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A status a policy answers with must end the response: an informational
// one (1xx) would reach the client followed by a 200, so a request over a
// rate limit, or refused for maintenance, would look served.
func TestPolicyAnswersNeedFinalStatus(t *testing.T) {
	for _, tc := range []struct{ policy, conf, field string }{
		{"maintenance_mode", `{"status":102}`, "status"},
		{"maintenance_mode", `{"status":600}`, "status"},
		{"rate_limit", `{"limits_exceeded_error":{"status_code":103}}`, "limits_exceeded_error.status_code"},
		{"rate_limit", `{"configuration_error":{"status_code":100}}`, "configuration_error.status_code"},
	} {
		mk, _ := builtin(tc.policy)
		_, err := mk(json.RawMessage(tc.conf), edgeTestEnv())
		var fe *FieldError
		if assert.ErrorAs(t, err, &fe, tc.conf) {
			assert.Equal(t, tc.field, fe.Field, tc.conf)
		}
	}
	for _, tc := range []struct{ policy, conf string }{
		{"maintenance_mode", `{"status":200}`},
		{"rate_limit", `{"limits_exceeded_error":{"status_code":599}}`},
	} {
		mk, _ := builtin(tc.policy)
		_, err := mk(json.RawMessage(tc.conf), edgeTestEnv())
		assert.NoError(t, err, tc.conf)
	}
}
