package threescale_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestActiveDocsIntegration(t *testing.T) {
	spec := string(sharedFile(t, "service_management_api.json"))
	other := string(sharedFile(t, "analytics_api.json"))
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	serviceID := createProduct(t, cl, "Documented", nil)
	str := func(s string) *string { return &s }
	yes, no := true, false

	doc, err := cl.CreateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{
		Name: str("Service Management"), Description: str("3scale's own spec"), Published: &yes,
		SkipSwaggerValidations: &no, Body: &spec, ServiceID: &serviceID,
	}})
	require.NoError(t, err)
	e := doc.Element
	require.NotNil(t, e.ID)
	id := *e.ID
	assert.Equal(t, "Service Management", *e.Name)
	assert.Equal(t, "service_management", *e.SystemName)
	assert.Equal(t, "3scale's own spec", *e.Description)
	assert.True(t, *e.Published)
	assert.False(t, *e.SkipSwaggerValidations)
	assert.Equal(t, spec, *e.Body)
	require.NotNil(t, e.ServiceID)
	assert.Equal(t, serviceID, *e.ServiceID)
	require.NotNil(t, e.CreatedAt)
	require.NotNil(t, e.UpdatedAt)

	// A second one, unbound, with its own system_name.
	second, err := cl.CreateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{
		Name: str("Analytics"), SystemName: str("analytics-v1"), Body: &other,
	}})
	require.NoError(t, err)
	assert.Equal(t, "analytics-v1", *second.Element.SystemName)
	assert.Nil(t, second.Element.ServiceID)
	assert.False(t, *second.Element.Published)

	got, err := cl.ActiveDoc(id)
	require.NoError(t, err)
	assert.Equal(t, id, *got.Element.ID)
	assert.Equal(t, "Service Management", *got.Element.Name)
	assert.Equal(t, spec, *got.Element.Body)
	assert.Equal(t, serviceID, *got.Element.ServiceID)

	list, err := cl.ListActiveDocs()
	require.NoError(t, err)
	require.Len(t, list.ActiveDocs, 2)
	assert.Equal(t, id, *list.ActiveDocs[0].Element.ID)
	assert.Equal(t, "service_management", *list.ActiveDocs[0].Element.SystemName)
	assert.Equal(t, *second.Element.ID, *list.ActiveDocs[1].Element.ID)
	assert.Equal(t, "Analytics", *list.ActiveDocs[1].Element.Name)

	// Update: the system_name stays, as in 3scale.
	upd, err := cl.UpdateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{
		ID: &id, Name: str("SM API"), SystemName: str("renamed"), Description: str("changed"), Published: &no, Body: &other,
	}})
	require.NoError(t, err)
	assert.Equal(t, id, *upd.Element.ID)
	assert.Equal(t, "SM API", *upd.Element.Name)
	assert.Equal(t, "service_management", *upd.Element.SystemName)
	assert.Equal(t, "changed", *upd.Element.Description)
	assert.False(t, *upd.Element.Published)
	assert.Equal(t, other, *upd.Element.Body)
	assert.Equal(t, serviceID, *upd.Element.ServiceID)

	unbound, err := cl.UnbindActiveDocFromProduct(id)
	require.NoError(t, err)
	assert.Equal(t, id, *unbound.Element.ID)
	assert.Nil(t, unbound.Element.ServiceID)
	assert.Equal(t, "SM API", *unbound.Element.Name)
	got, err = cl.ActiveDoc(id)
	require.NoError(t, err)
	assert.Nil(t, got.Element.ServiceID)

	// Bad input names the field and changes nothing.
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"name":"Broken","body":"{\"openapi\": \"3.0.0\", oops"}`)
	assert.Contains(t, fieldErrors(t, status, body), "body")
	_, err = cl.CreateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{Name: str("Not a spec"), Body: str("[1, 2]")}})
	apiErr(t, err, http.StatusUnprocessableEntity, "body")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"name":"No openapi field","body":"{\"info\":{}}"}`)
	assert.Contains(t, fieldErrors(t, status, body), "body")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"body":`+strconv.Quote(spec)+`}`)
	assert.Contains(t, fieldErrors(t, status, body), "name")
	status, body = rawCall(t, co, http.MethodPut, "/admin/api/active_docs/"+strconv.FormatInt(id, 10)+".json", "application/json",
		`{"body":"not json at all"}`)
	assert.Contains(t, fieldErrors(t, status, body), "body")
	status, body = rawCall(t, co, http.MethodPut, "/admin/api/active_docs/"+strconv.FormatInt(id, 10)+".json", "application/json",
		`{"service_id":999}`)
	assert.Contains(t, fieldErrors(t, status, body), "service_id")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"name":"Dup","system_name":"analytics-v1","body":`+strconv.Quote(spec)+`}`)
	assert.Contains(t, fieldErrors(t, status, body), "system_name")
	// skip_swagger_validations accepts any JSON object.
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"name":"Loose","skip_swagger_validations":true,"body":"{\"info\":{}}"}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var loose client.ActiveDoc
	require.NoError(t, json.Unmarshal(body, &loose))
	assert.Equal(t, `{"info":{}}`, *loose.Element.Body)
	got, err = cl.ActiveDoc(id)
	require.NoError(t, err)
	assert.Equal(t, other, *got.Element.Body)

	// Deleting the service unbinds its docs, deleting a doc removes it.
	bound, err := cl.CreateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{
		Name: str("Bound"), Body: &spec, ServiceID: &serviceID,
	}})
	require.NoError(t, err)
	require.NoError(t, cl.DeleteProduct(serviceID))
	got, err = cl.ActiveDoc(*bound.Element.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Element.ServiceID)

	require.NoError(t, cl.DeleteActiveDoc(id))
	_, err = cl.ActiveDoc(id)
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteActiveDoc(id), http.StatusNotFound)
	_, err = cl.UpdateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{ID: &id, Name: str("x")}})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UnbindActiveDocFromProduct(id)
	apiErr(t, err, http.StatusNotFound)
	list, err = cl.ListActiveDocs()
	require.NoError(t, err)
	assert.Len(t, list.ActiveDocs, 3)
}
