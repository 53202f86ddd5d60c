package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// afFeatureXML is an account feature as 3scale's XML renders it: the
// owner's account_id, no service_id.
type afFeatureXML struct {
	XMLName    xml.Name `xml:"feature"`
	ID         int64    `xml:"id"`
	Name       string   `xml:"name"`
	SystemName string   `xml:"system_name"`
	AccountID  int64    `xml:"account_id"`
	ServiceID  *int64   `xml:"service_id"`
	Scope      string   `xml:"scope"`
	Visible    bool     `xml:"visible"`
}

// Account Features List, Create, Read, Update and Delete: the provider's
// features, for account plans, in the shapes of the service features.
func TestAccountFeaturesRoundTrip(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	base := "/admin/api/features"

	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Community Forum"}, "description": {"ask away"}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Regexp(t, ftFeatureShape, string(body))
	var created ftFeatureElem
	require.NoError(t, json.Unmarshal(body, &created))
	forum := created.Feature
	assert.Equal(t, "community_forum", forum.SystemName)
	assert.Equal(t, "account_plan", forum.Scope, "an account feature is for account plans")
	assert.True(t, forum.Visible)
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Community Forum"}})
	assert.Contains(t, fieldErrors(t, status, body), "system_name")
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"description": {"no name"}})
	assert.Contains(t, fieldErrors(t, status, body), "name")
	var wiki ftFeatureElem
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Wiki"}, "system_name": {"kb"}, "scope": {"ApplicationPlan"}},
		http.StatusCreated, &wiki)
	assert.Equal(t, "kb", wiki.Feature.SystemName)
	assert.Equal(t, "account_plan", wiki.Feature.Scope)

	// A service's features are not the account's.
	product := createProduct(t, cl, "Featured API", nil)
	decodeCall(t, co, http.MethodPost, "/admin/api/services/"+s64(product)+"/features.json", url.Values{"name": {"SLA"}},
		http.StatusCreated, &ftFeatureElem{})
	var list ftFeatureList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"community_forum", "kb"}, list.systemNames())

	member := base + "/" + s64(forum.ID)
	var read ftFeatureElem
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &read)
	assert.Equal(t, forum, read.Feature)
	var x afFeatureXML
	decodeCall(t, co, http.MethodGet, member+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, afFeatureXML{XMLName: x.XMLName, ID: forum.ID, Name: "Community Forum", SystemName: "community_forum",
		AccountID: 1, Scope: "account_plan", Visible: true}, x)

	var updated ftFeatureElem
	decodeCall(t, co, http.MethodPut, member+".json", url.Values{"name": {"Forum"}, "visible": {"false"}}, http.StatusOK, &updated)
	assert.Equal(t, "Forum", updated.Feature.Name)
	assert.False(t, updated.Feature.Visible)
	assert.Equal(t, "community_forum", updated.Feature.SystemName)

	status, _ = formCall(t, co, http.MethodDelete, member+".json", nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodGet, member+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"kb"}, list.systemNames())
}

// Account Plan Features List, Enable and Disable: an account plan enables
// the provider's account features, once; a service's feature is not found.
func TestAccountPlanFeaturesRoundTrip(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	plan := apCreate(t, co, url.Values{"name": {"Basic"}})
	var forum, sla ftFeatureElem
	decodeCall(t, co, http.MethodPost, "/admin/api/features.json", url.Values{"name": {"Forum"}}, http.StatusCreated, &forum)
	product := createProduct(t, cl, "Featured API", nil)
	decodeCall(t, co, http.MethodPost, "/admin/api/services/"+s64(product)+"/features.json", url.Values{"name": {"SLA"}},
		http.StatusCreated, &sla)
	base := "/admin/api/account_plans/" + s64(plan.ID) + "/features"

	var list ftFeatureList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Features)
	var enabled ftFeatureElem
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {s64(forum.Feature.ID)}}, http.StatusCreated, &enabled)
	assert.Equal(t, forum.Feature, enabled.Feature)
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {s64(forum.Feature.ID)}})
	assert.Contains(t, fieldErrors(t, status, body), "feature_id", "already enabled")
	for _, id := range []string{s64(sla.Feature.ID), "999999", ""} {
		status, _ = formCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {id}})
		assert.Equal(t, http.StatusNotFound, status, "feature_id %q", id)
	}
	status, _ = formCall(t, co, http.MethodPost, "/admin/api/account_plans/999999/features.json", url.Values{"feature_id": {s64(forum.Feature.ID)}})
	assert.Equal(t, http.StatusNotFound, status)

	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"forum"}, list.systemNames())
	var listX struct {
		Features []afFeatureXML `xml:"feature"`
	}
	decodeCall(t, co, http.MethodGet, base+".xml", nil, http.StatusOK, &listX)
	require.Len(t, listX.Features, 1)
	assert.Equal(t, int64(1), listX.Features[0].AccountID)

	status, _ = formCall(t, co, http.MethodDelete, base+"/"+s64(forum.Feature.ID)+".json", nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodDelete, base+"/"+s64(forum.Feature.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status, "no longer enabled")
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Features)
}
