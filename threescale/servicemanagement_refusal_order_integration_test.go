package threescale_test

import (
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A refused application's authorization is answered 409 with its refusal,
// whatever its usage holds. apisonator (lib/3scale/backend/transactor.rb,
// validate) runs its validators in order and stops at the first that fails:
// "validators.all? { |validator| validator.apply(status, params) }", with
// VALIDATORS = Key, Referrer, ReferrerFilters, State, Limits; the usage is
// read only by the last, Validators::Limits#process, where
// Metric::Collection#parse_usage raises UsageValueInvalid ("raise
// UsageValueInvalid.new(name, value) unless sane_value?(value)") and
// MetricInvalid. So a wrong app_key or a suspended application is refused
// for that (409, <reason>) before any usage value or metric name is looked
// at. Only with no_body does apisonator look the metric names up first
// (preload_usage_limits → Application#load_usage_limits_affected_by:
// "Raises MetricInvalid when a metric does not exist"), before the
// validators.
func TestRefusedAuthorizationIsAnsweredBeforeItsUsageIsRead(t *testing.T) {
	f := newSMFixture(t)
	idQuery := func(kv ...string) map[string][]string {
		q := f.query(append([]string{"service_id", f.ids, "app_id", f.appID}, kv...)...)
		return q
	}
	refused := func(name, path string, q map[string][]string, reason string) {
		t.Helper()
		resp, body := f.sm(t, http.MethodGet, path, q, nil)
		if !assert.Equal(t, http.StatusConflict, resp.StatusCode,
			"%s: apisonator refuses the application (409) before its Limits validator reads the usage; got %s", name, body) {
			return
		}
		var st smStatus
		require.NoError(t, xml.Unmarshal(body, &st), "%s: %s", name, body)
		assert.False(t, st.Authorized, name)
		assert.Equal(t, reason, st.Reason, name)
	}

	for _, path := range []string{"/transactions/authorize.xml", "/transactions/authrep.xml"} {
		// a wrong application key, with an unknown metric or a bad value
		refused(path+" wrong key, unknown metric", path,
			idQuery("app_key", "wrong", "usage[no_such_metric]", "1"), "application key is invalid")
		refused(path+" wrong key, negative value", path,
			idQuery("app_key", "wrong", "usage[hits]", "-1"), "application key is invalid")
	}

	// a suspended application, with an unknown metric or a bad value
	code, body := rawCall(t, f.co, http.MethodPut,
		"/admin/api/accounts/"+f.account+"/applications/"+f.app+"/suspend.json", "", "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	refused("authrep suspended, unknown metric", "/transactions/authrep.xml",
		f.query("user_key", f.userKey, "usage[no_such_metric]", "1"), "application is not active")
	refused("authrep suspended, bad value", "/transactions/authrep.xml",
		f.query("user_key", f.userKey, "usage[hits]", "abc"), "application is not active")

	// With no_body apisonator looks the metric names up before the
	// validators: an unknown metric is its 404, whatever the application.
	resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml",
		idQuery("app_key", "wrong", "usage[no_such_metric]", "1"), http.Header{"3scale-Options": {"no_body=1"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode,
		"no_body: apisonator's preload raises MetricInvalid before the key is checked; got %s", body)
	// ... and for an authorized call, before any value is read.
	resp, body = f.sm(t, http.MethodGet, "/transactions/authorize.xml",
		idQuery("app_key", f.appKey, "usage[hits]", "x", "usage[zz_no_such]", "1"), http.Header{"3scale-Options": {"no_body=1"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode,
		"no_body: every name is looked up before a value is read; got %s", body)
}
