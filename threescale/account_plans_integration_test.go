package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// apPlan is an account plan as 3scale's JSON renders it.
type apPlan struct {
	ID                 int64   `json:"id"`
	Name               string  `json:"name"`
	State              string  `json:"state"`
	SetupFee           float64 `json:"setup_fee"`
	CostPerMonth       float64 `json:"cost_per_month"`
	TrialPeriodDays    int64   `json:"trial_period_days"`
	CancellationPeriod int64   `json:"cancellation_period"`
	Default            bool    `json:"default"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

type apPlanElem struct {
	AccountPlan apPlan `json:"account_plan"`
}

type apPlanList struct {
	Plans []apPlanElem `json:"plans"`
}

// apPlanXML is an account plan as 3scale's XML renders it (Plan#to_xml).
type apPlanXML struct {
	XMLName xml.Name `xml:"plan"`
	Default string   `xml:"default,attr"`
	ID      int64    `xml:"id"`
	Name    string   `xml:"name"`
	Type    string   `xml:"type"`
	State   string   `xml:"state"`
}

// apCreate creates an account plan from form parameters and returns it.
func apCreate(t *testing.T, co *testenv.Coordinator, form url.Values) apPlan {
	t.Helper()
	var out apPlanElem
	decodeCall(t, co, http.MethodPost, "/admin/api/account_plans.json", form, http.StatusCreated, &out)
	require.NotZero(t, out.AccountPlan.ID)
	return out.AccountPlan
}

func apKeys(t *testing.T, body []byte) []string {
	t.Helper()
	var raw map[string]map[string]any
	require.NoError(t, json.Unmarshal(body, &raw), "%s", body)
	var keys []string
	for k := range raw["account_plan"] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var apXMLShape = regexp.MustCompile(`^<\?xml version="1.0" encoding="UTF-8"\?><plan( default="true")?><id>\d+</id><name>[^<]*</name><type>account_plan</type><state>(hidden|published)</state><setup_fee>[\d.]+</setup_fee><cost_per_month>[\d.]+</cost_per_month><trial_period_days>\d+</trial_period_days><cancellation_period>\d+</cancellation_period></plan>$`)

// Account Plan List, Create, Read, Update and Delete in 3scale's shapes:
// JSON as AccountPlanRepresenter, XML as Plan#to_xml; only name,
// system_name, approval_required and state_event are taken.
func TestAccountPlansRoundTrip(t *testing.T) {
	co := testenv.StartCoordinator(t)
	base := "/admin/api/account_plans"

	status, body := formCall(t, co, http.MethodPost, base+".json",
		url.Values{"name": {"Gold Tier"}, "approval_required": {"true"}, "cost_per_month": {"99"}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Equal(t, []string{"cancellation_period", "cost_per_month", "created_at", "default", "id", "name",
		"setup_fee", "state", "trial_period_days", "updated_at"}, apKeys(t, body))
	var created apPlanElem
	require.NoError(t, json.Unmarshal(body, &created))
	gold := created.AccountPlan
	assert.Equal(t, "Gold Tier", gold.Name)
	assert.Equal(t, "hidden", gold.State, "a new plan is hidden")
	assert.Zero(t, gold.CostPerMonth, "porta does not permit cost_per_month")
	assert.False(t, gold.Default)
	recentTime(t, gold.CreatedAt)

	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Gold Tier"}})
	assert.Contains(t, fieldErrors(t, status, body), "system_name", "system_name is taken")
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"state_event": {"publish"}})
	assert.Contains(t, fieldErrors(t, status, body), "name")
	silver := apCreate(t, co, url.Values{"name": {"Silver"}, "state_event": {"publish"}})
	assert.Equal(t, "published", silver.State)

	var list apPlanList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list.Plans, 2)
	assert.Equal(t, []int64{gold.ID, silver.ID}, []int64{list.Plans[0].AccountPlan.ID, list.Plans[1].AccountPlan.ID})

	var read apPlanElem
	member := base + "/" + s64(gold.ID)
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &read)
	assert.Equal(t, gold, read.AccountPlan)
	status, body = formCall(t, co, http.MethodGet, member+".xml", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Regexp(t, apXMLShape, string(body))
	var x apPlanXML
	require.NoError(t, xml.Unmarshal(body, &x))
	assert.Equal(t, apPlanXML{XMLName: x.XMLName, ID: gold.ID, Name: "Gold Tier", Type: "account_plan", State: "hidden"}, x)

	var updated apPlanElem
	decodeCall(t, co, http.MethodPut, member+".json", url.Values{"name": {"Platinum"}, "state_event": {"publish"}}, http.StatusOK, &updated)
	assert.Equal(t, "Platinum", updated.AccountPlan.Name)
	assert.Equal(t, "published", updated.AccountPlan.State)
	status, body = formCall(t, co, http.MethodPut, member+".json", url.Values{"state_event": {"archive"}})
	assert.Contains(t, fieldErrors(t, status, body), "state_event")

	decodeCall(t, co, http.MethodGet, base+".xml", nil, http.StatusOK, &struct {
		Plans []apPlanXML `xml:"plan"`
	}{})
	status, _ = formCall(t, co, http.MethodDelete, member+".json", nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodGet, member+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodDelete, member+".xml", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// Account Plan set to Default makes one plan the default (XML default="true"
// on it alone); a signup goes on it; Account Fetch Account Plan and Account
// Change Plan read and move it; a plan accounts are on cannot be deleted.
func TestAccountPlanDefaultAndAccountPlan(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	before := "/admin/api/accounts/" + s64(*acSignup(t, cl, "Early", "early").ID)
	status, _ := formCall(t, co, http.MethodGet, before+"/plan.json", nil)
	assert.Equal(t, http.StatusNotFound, status, "an account made before any default account plan is on none")

	basic := apCreate(t, co, url.Values{"name": {"Basic"}})
	pro := apCreate(t, co, url.Values{"name": {"Pro"}})
	var def apPlanElem
	decodeCall(t, co, http.MethodPut, "/admin/api/account_plans/"+s64(basic.ID)+"/default.json", nil, http.StatusOK, &def)
	assert.True(t, def.AccountPlan.Default)
	var defX apPlanXML
	decodeCall(t, co, http.MethodPut, "/admin/api/account_plans/"+s64(pro.ID)+"/default.xml", nil, http.StatusOK, &defX)
	assert.Equal(t, "true", defX.Default)
	var listX struct {
		Plans []apPlanXML `xml:"plan"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/account_plans.xml", nil, http.StatusOK, &listX)
	require.Len(t, listX.Plans, 2)
	assert.Equal(t, "", listX.Plans[0].Default, "the old default is plain")
	assert.Equal(t, "true", listX.Plans[1].Default)
	status, _ = formCall(t, co, http.MethodPut, "/admin/api/account_plans/999999/default.json", nil)
	assert.Equal(t, http.StatusNotFound, status)

	acc := "/admin/api/accounts/" + s64(*acSignup(t, cl, "Acme", "alice").ID)
	var got apPlanElem
	decodeCall(t, co, http.MethodGet, acc+"/plan.json", nil, http.StatusOK, &got)
	assert.Equal(t, pro.ID, got.AccountPlan.ID, "a signup goes on the default account plan")
	var gotX apPlanXML
	decodeCall(t, co, http.MethodGet, acc+"/plan.xml", nil, http.StatusOK, &gotX)
	assert.Equal(t, pro.ID, gotX.ID)

	var changed apPlanElem
	decodeCall(t, co, http.MethodPut, acc+"/change_plan.json", url.Values{"plan_id": {s64(basic.ID)}}, http.StatusOK, &changed)
	assert.Equal(t, basic.ID, changed.AccountPlan.ID)
	decodeCall(t, co, http.MethodGet, acc+"/plan.json", nil, http.StatusOK, &got)
	assert.Equal(t, basic.ID, got.AccountPlan.ID)
	decodeCall(t, co, http.MethodPut, before+"/change_plan.xml", url.Values{"plan_id": {s64(pro.ID)}}, http.StatusOK, &gotX)
	assert.Equal(t, pro.ID, gotX.ID)
	for _, form := range []url.Values{{"plan_id": {"999999"}}, {}} {
		status, _ = formCall(t, co, http.MethodPut, acc+"/change_plan.json", form)
		assert.Equal(t, http.StatusNotFound, status, "plan_id %v", form)
	}
	status, _ = formCall(t, co, http.MethodPut, "/admin/api/accounts/999999/change_plan.json", url.Values{"plan_id": {s64(pro.ID)}})
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/accounts/999999/plan.json", nil)
	assert.Equal(t, http.StatusNotFound, status)

	status, body := formCall(t, co, http.MethodDelete, "/admin/api/account_plans/"+s64(basic.ID)+".json", nil)
	assert.Contains(t, fieldErrors(t, status, body), "base", "a plan accounts are on stays")
	status, _ = formCall(t, co, http.MethodDelete, acc+".json", nil)
	require.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodDelete, "/admin/api/account_plans/"+s64(basic.ID)+".json", nil)
	assert.Equal(t, http.StatusOK, status, "once its account is gone")
}
