package coordinator

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// An export asked for its secrets in a way it cannot read (include_secrets=yes)
// is refused naming the parameter, not sent without them: imported, such an
// export would give every application new keys.
func TestExportRefusesAnUnreadableIncludeSecrets(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	for q, want := range map[string]int{"yes": http.StatusBadRequest, "on": http.StatusBadRequest, "true": http.StatusOK, "1": http.StatusOK, "false": http.StatusOK, "": http.StatusOK} {
		r := httptest.NewRequest(http.MethodGet, registry.PathAdminComposition+"?access_token="+fixtureToken+"&include_secrets="+q, nil)
		w := httptest.NewRecorder()
		c.portability().ServeHTTP(w, r)
		require.Equal(t, want, w.Code, "include_secrets=%s: %s", q, w.Body.String())
		if want == http.StatusBadRequest {
			require.Contains(t, w.Body.String(), "include_secrets")
		}
	}
}
