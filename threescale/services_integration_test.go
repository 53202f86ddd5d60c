package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestProductsJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)

	p, err := cl.CreateProduct("News API", client.Params{
		"system_name": "news", "description": "Headlines", "backend_version": "2",
		"deployment_option": "self_managed", "support_email": "api@example.com",
		"buyers_manage_apps": "true", "intentions_required": "1",
	})
	require.NoError(t, err)
	e := p.Element
	assert.NotZero(t, e.ID)
	assert.Equal(t, "News API", e.Name)
	assert.Equal(t, "news", e.SystemName)
	assert.Equal(t, "Headlines", e.Description)
	assert.Equal(t, "2", e.BackendVersion)
	assert.Equal(t, "self_managed", e.DeploymentOption)
	assert.Equal(t, "api@example.com", e.SupportEmail)
	assert.Equal(t, "incomplete", e.State)
	assert.True(t, e.BuyersManageApps)
	assert.True(t, e.IntentionsRequired)
	assert.False(t, e.BuyersManageKeys)
	assert.Equal(t, "request", e.BuyerPlanChangePermission)
	assert.NotEmpty(t, e.CreatedAt)
	assert.Equal(t, e.CreatedAt, e.UpdatedAt)

	got, err := cl.Product(e.ID)
	require.NoError(t, err)
	assert.Equal(t, e, got.Element)

	up, err := cl.UpdateProduct(e.ID, client.Params{"name": "News API v2", "description": "", "system_name": "renamed", "buyers_manage_apps": "false"})
	require.NoError(t, err)
	assert.Equal(t, "News API v2", up.Element.Name)
	assert.Equal(t, "", up.Element.Description)
	assert.Equal(t, "news", up.Element.SystemName, "system_name never changes after create")
	assert.False(t, up.Element.BuyersManageApps)
	assert.Equal(t, e.CreatedAt, up.Element.CreatedAt)

	_, err = cl.CreateProduct("Weather", nil)
	require.NoError(t, err)
	list, err := cl.ListProducts()
	require.NoError(t, err)
	require.Len(t, list.Products, 2)
	assert.Equal(t, "News API v2", list.Products[0].Element.Name)
	assert.Equal(t, "weather", list.Products[1].Element.SystemName)

	// A product comes with its hits metric.
	metrics, err := cl.ListProductMetrics(e.ID)
	require.NoError(t, err)
	require.Len(t, metrics.Metrics, 1)
	assert.Equal(t, "hits", metrics.Metrics[0].Element.SystemName)

	require.NoError(t, cl.DeleteProduct(e.ID))
	_, err = cl.Product(e.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	err = cl.DeleteProduct(e.ID)
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = cl.ListProductMetrics(e.ID)
	assert.True(t, client.IsNotFound(err), "the hits metric went with the product: %v", err)

	// Bad input names the field.
	_, err = cl.CreateProduct("", nil)
	apiErr(t, err, http.StatusUnprocessableEntity)
	_, err = cl.CreateProduct("Weather", nil)
	apiErr(t, err, http.StatusUnprocessableEntity)
	_, err = cl.CreateProduct("X", client.Params{"backend_version": "9"})
	apiErr(t, err, http.StatusUnprocessableEntity)
	status, body := formCall(t, co, "POST", "/admin/api/services.json", url.Values{"name": {"Y"}, "mandatory_app_key": {"perhaps"}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	var ve struct {
		Errors map[string][]string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &ve))
	assert.Contains(t, ve.Errors, "mandatory_app_key")
	status, body = formCall(t, co, "POST", "/admin/api/services.json", url.Values{"name": {"Weather"}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, string(body), `"system_name":["has already been taken"]`)
}

func TestServicesLegacyXML(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)

	s, err := cl.CreateService("legacy")
	require.NoError(t, err)
	assert.NotEmpty(t, s.ID)
	assert.Equal(t, "legacy", s.Name)
	assert.Equal(t, "legacy", s.SystemName)
	assert.Equal(t, "1", s.AccountID)
	assert.Equal(t, "incomplete", s.State)
	assert.Equal(t, "hosted", s.DeploymentOption)
	assert.Equal(t, "1", s.BackendVersion)
	assert.Equal(t, "false", s.EndUserRegistrationRequired)

	up, err := cl.UpdateService(s.ID, client.Params{"description": "old style", "backend_version": "oidc"})
	require.NoError(t, err)
	assert.Equal(t, s.ID, up.ID)
	assert.Equal(t, "old style", up.Description)
	assert.Equal(t, "oidc", up.BackendVersion)

	list, err := cl.ListServices()
	require.NoError(t, err)
	require.Len(t, list.Services, 1)
	assert.Equal(t, "old style", list.Services[0].Description)
	assert.Equal(t, s.ID, list.Services[0].ID)

	// The XML read the client has no method for.
	status, body := formCall(t, co, "GET", "/admin/api/services/"+s.ID+".xml", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var one client.Service
	require.NoError(t, xml.Unmarshal(body, &one))
	assert.Equal(t, "oidc", one.BackendVersion)

	// XML errors: 422 with 3scale's <errors> document.
	_, err = cl.CreateService("legacy")
	apiErr(t, err, http.StatusUnprocessableEntity)
	status, body = formCall(t, co, "POST", "/admin/api/services.xml", url.Values{"name": {""}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, string(body), "<errors>")
	assert.Contains(t, string(body), "<error>Name can't be blank</error>")

	id, err := strconv.ParseInt(s.ID, 10, 64)
	require.NoError(t, err)
	require.NoError(t, cl.DeleteService(s.ID))
	_, err = cl.Product(id)
	assert.True(t, client.IsNotFound(err), "%v", err)
	err = cl.DeleteService(s.ID)
	apiErr(t, err, http.StatusNotFound)
}
