package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta reads its parameters with Rack, where a repeated name takes its
// last value: a Rails form sends a checkbox as a hidden "0" followed by the
// box's "1" when it is ticked, so approval_required=0&approval_required=1
// means true. Reading the first value instead would store the opposite of
// what the form asked, in the query string as in a form body.
func TestRepeatedAccountManagementParameterTakesItsLastValue(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Checkbox&system_name=checkbox")
	plans := "/admin/api/services/" + svc + "/application_plans"
	type planElem struct {
		ApplicationPlan struct {
			ID               int64  `json:"id"`
			Name             string `json:"name"`
			ApprovalRequired bool   `json:"approval_required"`
		} `json:"application_plan"`
	}
	decode := func(status int, body []byte, want int) planElem {
		t.Helper()
		require.Equal(t, want, status, "%s", body)
		var v planElem
		require.NoError(t, json.Unmarshal(body, &v), "%s", body)
		return v
	}

	// a form body: the checkbox idiom
	status, body := rawCall(t, co, http.MethodPost, plans+".json", "application/x-www-form-urlencoded",
		"name=Draft&name=Vetted&approval_required=0&approval_required=1")
	created := decode(status, body, http.StatusCreated)
	assert.True(t, created.ApplicationPlan.ApprovalRequired, "approval_required=0&approval_required=1 is 1: %s", body)
	assert.Equal(t, "Vetted", created.ApplicationPlan.Name, "name=Draft&name=Vetted is Vetted")

	// the query string, the box left unticked
	plan := plans + "/" + s64(created.ApplicationPlan.ID) + ".json"
	status, body = rawCall(t, co, http.MethodPut, plan+"?approval_required=1&approval_required=0", "", "")
	assert.False(t, decode(status, body, http.StatusOK).ApplicationPlan.ApprovalRequired,
		"approval_required=1&approval_required=0 is 0: %s", body)

	// a multipart form, as a browser posts it
	status, body = rawCall(t, co, http.MethodPut, plan, "multipart/form-data; boundary=XX",
		"--XX\r\nContent-Disposition: form-data; name=\"approval_required\"\r\n\r\n0\r\n"+
			"--XX\r\nContent-Disposition: form-data; name=\"approval_required\"\r\n\r\n1\r\n--XX--\r\n")
	assert.True(t, decode(status, body, http.StatusOK).ApplicationPlan.ApprovalRequired, "multipart 0 then 1 is 1: %s", body)

	// the body's value wins over the query's, as Rack merges them
	status, body = rawCall(t, co, http.MethodPut, plan+"?approval_required=1", "application/x-www-form-urlencoded",
		"approval_required=1&approval_required=0")
	assert.False(t, decode(status, body, http.StatusOK).ApplicationPlan.ApprovalRequired, "the body's last value, 0: %s", body)

	// a parameter a handler reads itself, not through Bind: the plan's
	// default flag
	status, body = rawCall(t, co, http.MethodPut, plan, "application/x-www-form-urlencoded", "default=0&default=1")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var def struct {
		ApplicationPlan struct {
			Default bool `json:"default"`
		} `json:"application_plan"`
	}
	require.NoError(t, json.Unmarshal(body, &def), "%s", body)
	assert.True(t, def.ApplicationPlan.Default, "default=0&default=1 makes the plan the default: %s", body)
}

// Rack collects every value only of a name ending in "[]": an array
// parameter keeps them all while its scalar neighbours take their last.
func TestArrayParameterKeepsEveryValueBesideRepeatedScalars(t *testing.T) {
	co := testenv.StartCoordinator(t)
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/personal/access_tokens.json", "application/x-www-form-urlencoded",
		url.Values{
			"name":       {"First", "Second"},
			"permission": {"rw", "ro"},
			"scopes[]":   {"", "account_management", "stats"},
		}.Encode())
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var tok struct {
		AccessToken struct {
			Name       string   `json:"name"`
			Permission string   `json:"permission"`
			Scopes     []string `json:"scopes"`
		} `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(body, &tok), "%s", body)
	assert.Equal(t, "Second", tok.AccessToken.Name)
	assert.Equal(t, "ro", tok.AccessToken.Permission)
	assert.Equal(t, []string{"account_management", "stats"}, tok.AccessToken.Scopes, "every scopes[] value, the blank dropped")
}

// porta's Analytics API reads its query with Rack too:
// granularity=day&granularity=month asks for months.
func TestRepeatedAnalyticsParameterTakesItsLastValue(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Stats&system_name=stats")
	var out struct {
		Period struct {
			Since       string `json:"since"`
			Granularity any    `json:"granularity"`
		} `json:"period"`
		Values []int64 `json:"values"`
	}
	decodeCall(t, co, http.MethodGet, "/stats/services/"+svc+"/usage.json", url.Values{
		"metric_name": {"nope", "hits"},
		"since":       {"2025-01-01", "2026-01-01"},
		"until":       {"2026-03-31 23:59:59"},
		"granularity": {"day", "month"},
		"timezone":    {"Tokyo", "UTC"},
	}, http.StatusOK, &out)
	assert.Equal(t, "month", out.Period.Granularity)
	assert.Len(t, out.Values, 3, "January to March by month")
	assert.Equal(t, "2026-01-01T00:00:00Z", out.Period.Since, "since and timezone are the last given")
}

// porta's application create takes one application_key; sent twice, Rack
// keeps the last, so one key is made, the last, as 3scale would.
func TestRepeatedApplicationKeyMakesOneKeyTheLast(t *testing.T) {
	s := newAKSetup(t)
	app := s.create(t, s.partner.ID, url.Values{"name": {"Twice"}, "application_key": {"first-key", "last-key"}})
	var l struct {
		Keys []struct {
			Key struct {
				Value string `json:"value"`
			} `json:"key"`
		} `json:"keys"`
	}
	decodeCall(t, s.co, http.MethodGet, s.apps+"/"+idOf(t, app)+"/keys.json", nil, http.StatusOK, &l)
	var values []string
	for _, k := range l.Keys {
		values = append(values, k.Key.Value)
	}
	require.Equal(t, []string{"last-key"}, values)
}
