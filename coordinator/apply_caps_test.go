package coordinator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// --max-placements and --max-applications hold for apply as for every
// other path that creates: the whole apply is refused with a 422 naming
// the cap, and nothing is written.
func TestApplyIsHeldToTheCompositionCaps(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{Placements: 1, Applications: 1})
	docs := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nplans: [{system_name: gold, name: Gold}]\n"
	for i := range 3 {
		docs += fmt.Sprintf("---\napiVersion: portolan.dev/v1\nkind: Placement\nname: p%d\nselector: {service: news}\nservice: news\n", i)
		docs += fmt.Sprintf("---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: A%d\napplications: [{name: app, service: news, plan: gold}]\n", i)
	}
	code, body := postApply(t, c, "", docs)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body, "--max-", "the answer names the cap")
	snap := c.store.Snapshot()
	require.Zero(t, snap.Placements.Len()+snap.Applications.Len(), "nothing written")
}

// An image's documents are held to the caps too.
func TestImageIsHeldToTheCompositionCaps(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{Applications: -1, Placements: 1})
	_, err := bringImage(t, c, "news", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\n")
	require.NoError(t, err)
	for _, name := range []string{"p1", "p2"} {
		code, body := postApply(t, c, "", "apiVersion: portolan.dev/v1\nkind: Placement\nname: "+name+"\nselector: {service: news}\nservice: news\n")
		if name == "p1" {
			require.Equal(t, http.StatusOK, code, body)
		} else {
			require.Equal(t, http.StatusUnprocessableEntity, code, body)
			require.Contains(t, body, "--max-placements")
		}
	}
}

// An import of a composition document is held to the caps.
func TestImportIsHeldToTheCompositionCaps(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{Placements: 1})
	code, body := postApply(t, c, "", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n"+
		"---\napiVersion: portolan.dev/v1\nkind: Placement\nname: p1\nselector: {service: news}\nservice: news\n")
	require.Equal(t, http.StatusOK, code, body)
	r := httptest.NewRequest(http.MethodGet, registry.PathAdminComposition+"?access_token="+fixtureToken, nil)
	w := httptest.NewRecorder()
	c.portability().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	doc := strings.Replace(w.Body.String(), `"name":"p1"`, `"name":"p2"`, 1)
	require.NotEqual(t, w.Body.String(), doc, "the export names placement p1: %s", w.Body.String())

	r = httptest.NewRequest(http.MethodPost, registry.PathAdminComposition+"?access_token="+fixtureToken, strings.NewReader(doc))
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	c.portability().ServeHTTP(w, r)
	require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "--max-placements")
}
