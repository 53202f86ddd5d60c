package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestObjectStatusAnswers200WhileTheObjectExistsAnd404OnceGone(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	serviceID := createProduct(t, cl, "Status", nil)
	backend, err := cl.CreateBackendApi(client.Params{"name": "Status backend", "private_endpoint": "https://status.example.com"})
	require.NoError(t, err)
	backendID := backend.Element.ID
	acc, err := cl.Signup(client.Params{"org_name": "Status org", "username": "st", "email": "st@example.com", "password": "pw"})
	require.NoError(t, err)
	accountID := *acc.Element.ID

	status := func(typ, id string) (int, string) {
		t.Helper()
		code, body := formCall(t, co, http.MethodGet, "/admin/api/objects/status.json", url.Values{"object_type": {typ}, "object_id": {id}})
		return code, string(body)
	}
	live := map[string]string{"service": s64(serviceID), "proxy": s64(serviceID), "backend_api": s64(backendID), "account": s64(accountID)}
	for typ, id := range live {
		code, body := status(typ, id)
		assert.Equal(t, http.StatusOK, code, "%s %s: %s", typ, id, body)
		assert.Empty(t, body, "3scale answers head(:ok)")
	}
	code, _ := status("account", "1")
	assert.Equal(t, http.StatusOK, code, "the provider's own account")

	require.NoError(t, cl.DeleteProduct(serviceID))
	require.NoError(t, cl.DeleteBackendApi(backendID))
	require.NoError(t, cl.DeleteDeveloperAccount(accountID))
	for typ, id := range live {
		code, body := status(typ, id)
		assert.Equal(t, http.StatusNotFound, code, "%s %s deleted: %s", typ, id, body)
		assert.JSONEq(t, `{"status":"Not found"}`, body)
	}
	code, _ = status("service", "abc123")
	assert.Equal(t, http.StatusNotFound, code)

	code, body := status("code-injection", "1")
	assert.Equal(t, http.StatusForbidden, code, "3scale refuses a type it does not list")
	assert.JSONEq(t, `{"error":"Access denied"}`, body)
	code, body = status("application", "1")
	assert.Equal(t, http.StatusForbidden, code, body)

	c2, b2 := formCall(t, co, http.MethodGet, "/admin/api/objects/status.json", url.Values{"object_id": {"1"}})
	assert.Equal(t, http.StatusBadRequest, c2, "%s", b2)
	assert.Contains(t, string(b2), "object_type")
	c2, b2 = formCall(t, co, http.MethodGet, "/admin/api/objects/status.json", url.Values{"object_type": {"service"}})
	assert.Equal(t, http.StatusBadRequest, c2, "%s", b2)
	assert.Contains(t, string(b2), "object_id")
}
