package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// ftFeature is a feature as 3scale's JSON renders it.
type ftFeature struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	SystemName  string `json:"system_name"`
	Scope       string `json:"scope"`
	Visible     bool   `json:"visible"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

type ftFeatureElem struct {
	Feature ftFeature `json:"feature"`
}

type ftFeatureList struct {
	Features []ftFeatureElem `json:"features"`
}

func (l ftFeatureList) systemNames() []string {
	out := []string{}
	for _, f := range l.Features {
		out = append(out, f.Feature.SystemName)
	}
	return out
}

// ftFeatureXML is a feature as 3scale's XML renders it (Feature#to_xml).
type ftFeatureXML struct {
	XMLName     xml.Name `xml:"feature"`
	ID          int64    `xml:"id"`
	Name        string   `xml:"name"`
	SystemName  string   `xml:"system_name"`
	ServiceID   int64    `xml:"service_id"`
	Scope       string   `xml:"scope"`
	Visible     bool     `xml:"visible"`
	Description string   `xml:"description"`
}

// ftJSONCall sends body as JSON, the way the 3scale-api gem (and so the
// toolbox) sends every write, and returns the status and body.
func ftJSONCall(t *testing.T, co *testenv.Coordinator, method, path string, body any) (int, []byte) {
	t.Helper()
	if body == nil {
		return rawCall(t, co, method, path, "", "")
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	return rawCall(t, co, method, path, "application/json", string(b))
}

var ftFeatureShape = regexp.MustCompile(`^\{"feature":\{"id":\d+,"name":"[^"]*","system_name":"[^"]*","scope":"[a-z_]+","visible":(true|false),"description":"[^"]*","created_at":"[^"]+","updated_at":"[^"]+"\}\}$`)

func TestServiceFeatures(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Featured API", nil)
	base := "/admin/api/services/" + s64(product) + "/features"

	// Form parameters as the spec lists them; 3scale's defaults: visible, for
	// application plans, system_name from the name.
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Premium Support"}, "description": {"24/7"}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Regexp(t, ftFeatureShape, string(body))
	var created ftFeatureElem
	require.NoError(t, json.Unmarshal(body, &created))
	sla := created.Feature
	assert.NotZero(t, sla.ID)
	assert.Equal(t, "Premium Support", sla.Name)
	assert.Equal(t, "premium_support", sla.SystemName)
	assert.Equal(t, "application_plan", sla.Scope, "3scale renders the scope underscored")
	assert.True(t, sla.Visible)
	assert.Equal(t, "24/7", sla.Description)
	recentTime(t, sla.CreatedAt)

	// The gem's shape: a JSON body wrapped in "feature".
	status, body = ftJSONCall(t, co, http.MethodPost, base+".json", map[string]any{"feature": map[string]any{
		"name": "Portal", "system_name": "portal_access", "scope": "ServicePlan", "visible": false}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var portal ftFeatureElem
	require.NoError(t, json.Unmarshal(body, &portal))
	assert.Equal(t, "portal_access", portal.Feature.SystemName)
	assert.Equal(t, "service_plan", portal.Feature.Scope)
	assert.False(t, portal.Feature.Visible)

	var read ftFeatureElem
	decodeCall(t, co, http.MethodGet, base+"/"+s64(sla.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, sla, read.Feature)
	var x ftFeatureXML
	decodeCall(t, co, http.MethodGet, base+"/"+s64(sla.ID)+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, ftFeatureXML{XMLName: xml.Name{Local: "feature"}, ID: sla.ID, Name: "Premium Support", SystemName: "premium_support",
		ServiceID: product, Scope: "application_plan", Visible: true, Description: "24/7"}, x)
	_, raw := formCall(t, co, http.MethodGet, base+"/"+s64(sla.ID)+".xml", nil)
	assert.Contains(t, string(raw), "<system_name>premium_support</system_name><service_id>"+s64(product)+"</service_id><scope>")
	assert.NotContains(t, string(raw), "created_at", "3scale's XML feature has no timestamps")

	var list ftFeatureList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"premium_support", "portal_access"}, list.systemNames())
	var xl struct {
		Features []ftFeatureXML `xml:"feature"`
	}
	decodeCall(t, co, http.MethodGet, base+".xml", nil, http.StatusOK, &xl)
	assert.Len(t, xl.Features, 2)

	var updated ftFeatureElem
	decodeCall(t, co, http.MethodPut, base+"/"+s64(sla.ID)+".json",
		url.Values{"name": {"Gold Support"}, "visible": {"false"}, "system_name": {"renamed"}}, http.StatusOK, &updated)
	assert.Equal(t, "Gold Support", updated.Feature.Name)
	assert.False(t, updated.Feature.Visible)
	assert.Equal(t, "premium_support", updated.Feature.SystemName, "system_name never changes")
	assert.Equal(t, "24/7", updated.Feature.Description)

	// 3scale's validation: the scopes of a service's features, one
	// system_name per service, a name.
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"X"}, "scope": {"application_plan"}})
	assert.Equal(t, []string{"must be ApplicationPlan or ServicePlan"}, fieldErrors(t, status, body)["scope"])
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Other"}, "system_name": {"portal_access"}})
	assert.Equal(t, []string{"has already been taken"}, fieldErrors(t, status, body)["system_name"])
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"description": {"no name"}})
	assert.Contains(t, fieldErrors(t, status, body), "name")

	// Another service's features are not this one's.
	other := createProduct(t, cl, "Other API", nil)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/services/"+s64(other)+"/features/"+s64(sla.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/services/999999/features.json", nil)
	assert.Equal(t, http.StatusNotFound, status)

	status, body = formCall(t, co, http.MethodDelete, base+"/"+s64(sla.ID)+".json", nil)
	assert.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = formCall(t, co, http.MethodGet, base+"/"+s64(sla.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	list = ftFeatureList{}
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"portal_access"}, list.systemNames())

	// Deleting the service deletes its features.
	require.NoError(t, cl.DeleteProduct(product))
	status, _ = formCall(t, co, http.MethodGet, base+"/"+s64(portal.Feature.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestApplicationPlanFeatures(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Plan Features API", nil)
	plan := createPlan(t, cl, product, client.Params{"name": "Basic"})
	other := createProduct(t, cl, "Other API", nil)
	features := "/admin/api/services/" + s64(product) + "/features"
	newFeature := func(service int64, name, scope string) int64 {
		var f ftFeatureElem
		decodeCall(t, co, http.MethodPost, "/admin/api/services/"+s64(service)+"/features.json",
			url.Values{"name": {name}, "scope": {scope}}, http.StatusCreated, &f)
		return f.Feature.ID
	}
	sla := newFeature(product, "SLA", "ApplicationPlan")
	forum := newFeature(product, "Forum", "ApplicationPlan")
	portal := newFeature(product, "Portal", "ServicePlan")
	foreign := newFeature(other, "SLA", "ApplicationPlan")
	planBase := "/admin/api/application_plans/" + s64(plan.ID) + "/features"

	var list ftFeatureList
	decodeCall(t, co, http.MethodGet, planBase+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Features)

	// Enable as the gem sends it: {"feature_id": id} as JSON; the answer is
	// the feature.
	status, body := ftJSONCall(t, co, http.MethodPost, planBase+".json", map[string]any{"feature_id": sla})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Regexp(t, ftFeatureShape, string(body))
	var enabled ftFeatureElem
	require.NoError(t, json.Unmarshal(body, &enabled))
	assert.Equal(t, sla, enabled.Feature.ID)
	assert.Equal(t, "sla", enabled.Feature.SystemName)
	var x ftFeatureXML
	decodeCall(t, co, http.MethodPost, planBase+".xml", url.Values{"feature_id": {s64(forum)}}, http.StatusCreated, &x)
	assert.Equal(t, forum, x.ID)
	assert.Equal(t, product, x.ServiceID)

	list = ftFeatureList{}
	decodeCall(t, co, http.MethodGet, planBase+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"sla", "forum"}, list.systemNames())
	var xl struct {
		XMLName  xml.Name       `xml:"features"`
		Features []ftFeatureXML `xml:"feature"`
	}
	decodeCall(t, co, http.MethodGet, planBase+".xml", nil, http.StatusOK, &xl)
	assert.Len(t, xl.Features, 2)

	// What 3scale refuses: a feature for another kind of plan (422
	// plan_type mismatch), another service's feature, a missing or unknown
	// feature_id, an unknown plan (404); and one already enabled.
	status, body = formCall(t, co, http.MethodPost, planBase+".json", url.Values{"feature_id": {s64(portal)}})
	assert.Equal(t, []string{"mismatch"}, fieldErrors(t, status, body)["plan_type"])
	for _, form := range []url.Values{{"feature_id": {s64(foreign)}}, {}, {"feature_id": {"999999"}}, {"feature_id": {"x"}}} {
		status, body = formCall(t, co, http.MethodPost, planBase+".json", form)
		assert.Equal(t, http.StatusNotFound, status, "%v: %s", form, body)
	}
	status, _ = formCall(t, co, http.MethodPost, "/admin/api/application_plans/999999/features.json", url.Values{"feature_id": {s64(sla)}})
	assert.Equal(t, http.StatusNotFound, status)
	status, body = formCall(t, co, http.MethodPost, planBase+".json", url.Values{"feature_id": {s64(sla)}})
	assert.Equal(t, []string{"has already been taken"}, fieldErrors(t, status, body)["feature_id"])

	// Disable; one the plan does not enable is 404.
	status, body = formCall(t, co, http.MethodDelete, planBase+"/"+s64(sla)+".json", nil)
	assert.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = formCall(t, co, http.MethodDelete, planBase+"/"+s64(sla)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodDelete, planBase+"/"+s64(portal)+".xml", nil)
	assert.Equal(t, http.StatusNotFound, status)
	list = ftFeatureList{}
	decodeCall(t, co, http.MethodGet, planBase+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"forum"}, list.systemNames())

	// Deleting a feature disables it everywhere; the service keeps the rest.
	status, _ = formCall(t, co, http.MethodDelete, features+"/"+s64(forum)+".json", nil)
	require.Equal(t, http.StatusOK, status)
	list = ftFeatureList{}
	decodeCall(t, co, http.MethodGet, planBase+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Features)
	list = ftFeatureList{}
	decodeCall(t, co, http.MethodGet, features+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"sla", "portal"}, list.systemNames())

	// Deleting the plan leaves the feature, no longer enabled anywhere.
	decodeCall(t, co, http.MethodPost, planBase+".json", url.Values{"feature_id": {s64(sla)}}, http.StatusCreated, &ftFeatureElem{})
	require.NoError(t, cl.DeleteApplicationPlan(product, plan.ID))
	var still ftFeatureElem
	decodeCall(t, co, http.MethodGet, features+"/"+s64(sla)+".json", nil, http.StatusOK, &still)
	status, _ = formCall(t, co, http.MethodGet, planBase+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
}
