package threescale_test

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestOIDCConfigurationIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Secure", nil)
	sid := strconv.FormatInt(id, 10)

	conf, err := cl.OIDCConfiguration(id)
	require.NoError(t, err)
	assert.False(t, conf.Element.StandardFlowEnabled)
	assert.False(t, conf.Element.ImplicitFlowEnabled)
	assert.False(t, conf.Element.ServiceAccountsEnabled)
	assert.False(t, conf.Element.DirectAccessGrantsEnabled)

	conf, err = cl.UpdateOIDCConfiguration(id, &client.OIDCConfiguration{Element: client.OIDCConfigurationItem{
		StandardFlowEnabled: true, ServiceAccountsEnabled: true,
	}})
	require.NoError(t, err)
	assert.True(t, conf.Element.StandardFlowEnabled)
	assert.False(t, conf.Element.ImplicitFlowEnabled)
	assert.True(t, conf.Element.ServiceAccountsEnabled)
	assert.False(t, conf.Element.DirectAccessGrantsEnabled)
	conf, err = cl.OIDCConfiguration(id)
	require.NoError(t, err)
	assert.True(t, conf.Element.StandardFlowEnabled)
	assert.True(t, conf.Element.ServiceAccountsEnabled)

	// XML, with a form PATCH that changes one flow only.
	status, body := rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy/oidc_configuration.xml",
		"application/x-www-form-urlencoded", "direct_access_grants_enabled=true")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var x struct {
		XMLName  xml.Name `xml:"oidc_configuration"`
		Standard bool     `xml:"standard_flow_enabled"`
		Implicit bool     `xml:"implicit_flow_enabled"`
		Accounts bool     `xml:"service_accounts_enabled"`
		Direct   bool     `xml:"direct_access_grants_enabled"`
	}
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	assert.True(t, x.Standard)
	assert.False(t, x.Implicit)
	assert.True(t, x.Accounts)
	assert.True(t, x.Direct)
	status, body = rawCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/oidc_configuration.xml", "", "")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	assert.True(t, x.Direct)

	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy/oidc_configuration.json",
		"application/json", `{"oidc_configuration":{"implicit_flow_enabled":"sometimes"}}`)
	assert.Contains(t, fieldErrors(t, status, body), "implicit_flow_enabled")
	conf, err = cl.OIDCConfiguration(id)
	require.NoError(t, err)
	assert.False(t, conf.Element.ImplicitFlowEnabled)

	_, err = cl.OIDCConfiguration(999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdateOIDCConfiguration(999, &client.OIDCConfiguration{})
	apiErr(t, err, http.StatusNotFound)
}
