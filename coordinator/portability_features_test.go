package coordinator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// Home announces, without a token (it holds nothing of the composition),
// that it restores hidden policy secrets; the rest of its admin API still
// wants the token.
func TestHomeAnnouncesItRestoresHiddenPolicySecrets(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	w := httptest.NewRecorder()
	c.portability().ServeHTTP(w, httptest.NewRequest(http.MethodGet, registry.PathAdminFeatures, nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var f registry.AdminFeatures
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &f))
	assert.True(t, f.Has(registry.FeatureRestoresHiddenSecrets), "features: %v", f.Features)

	w = httptest.NewRecorder()
	c.portability().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/portolan/composition", nil))
	assert.Equal(t, http.StatusForbidden, w.Code, "the export still wants the token")
}
