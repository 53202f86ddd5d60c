package coordinator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// README: "a broken document is refused whole with an error naming the
// entity and the field". An import's 422 names both, and a reference to
// an entity home cannot use is a 422 naming it too, never a bare 404.
func TestImportRefusalNamesTheEntityAndTheField(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	service := func(id, systemName, backendVersion string) string {
		return `{"id":` + id + `,"account_id":1,"name":"` + systemName + `","system_name":"` + systemName + `","state":"incomplete",` +
			`"deployment_option":"hosted","backend_version":"` + backendVersion + `","buyer_plan_change_permission":"request"}`
	}
	for name, tc := range map[string]struct{ doc, entity, field string }{
		"an invalid field": {
			doc:    `{"format":"portolan.composition/v1","services":[` + service("2", "good", "1") + `,` + service("3", "broken", "9") + `]}`,
			entity: "service:broken", field: "backend_version",
		},
		"a name taken twice": {
			doc:    `{"format":"portolan.composition/v1","services":[` + service("2", "twice", "1") + `,` + service("3", "twice", "1") + `]}`,
			entity: "service:twice", field: "system_name",
		},
		"an access token of a developer's user": {
			doc: `{"format":"portolan.composition/v1","accounts":[{"id":5,"org_name":"ACME","state":"approved"}],` +
				`"users":[{"id":6,"account_id":5,"username":"dev","email":"dev@acme.example","role":"member","state":"active"}],` +
				`"access_tokens":[{"id":7,"user_id":6,"name":"t","permission":"rw","scopes":["account_management"]}]}`,
			entity: "access_tokens 7", field: "user",
		},
	} {
		t.Run(name, func(t *testing.T) {
			rev := c.store.Snapshot().Revision
			r := httptest.NewRequest(http.MethodPost, registry.PathAdminComposition+"?access_token="+fixtureToken, strings.NewReader(tc.doc))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			c.portability().ServeHTTP(w, r)
			require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), tc.entity, "the answer names the entity")
			require.Contains(t, w.Body.String(), tc.field, "the answer names the field")
			require.Equal(t, rev, c.store.Snapshot().Revision, "nothing imported")
		})
	}
}

// One import is one document: data after it is refused, not ignored.
func TestImportRefusesDataAfterTheDocument(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	doc := `{"format":"portolan.composition/v1","services":[{"id":2,"account_id":1,"name":"a","system_name":"a","state":"incomplete",` +
		`"deployment_option":"hosted","backend_version":"1","buyer_plan_change_permission":"request"}]}`
	for name, body := range map[string]string{
		"a second document": doc + doc,
		"a stray word":      doc + " garbage",
		"a stray brace":     doc + "\n}",
	} {
		t.Run(name, func(t *testing.T) {
			w := importDocument(c, []byte(body))
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), "after the document")
			assert.Zero(t, c.store.Snapshot().Services.Len(), "nothing imported")
		})
	}
	w := importDocument(c, []byte(doc+"\n \t\r\n"))
	require.Equal(t, http.StatusCreated, w.Code, "space after the document is none: %s", w.Body.String())
}

// Ids are those the exporting home gave, above 1: a service with id 0
// (none) or 1 (the provider account's) could not be referred to, and a
// document of such is not an export. It is refused naming the entity and
// the field, as a broken document is.
func TestImportRefusesEntitiesWithoutAnID(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	service := func(id, name string) string {
		return `{"id":` + id + `,"account_id":1,"name":"` + name + `","system_name":"` + name + `","state":"incomplete",` +
			`"deployment_option":"hosted","backend_version":"1","buyer_plan_change_permission":"request"}`
	}
	for name, tc := range map[string]struct{ doc, entity string }{
		"id 0":           {`{"format":"portolan.composition/v1","services":[` + service("0", "zero") + `]}`, `services[0] has id 0`},
		"id 1":           {`{"format":"portolan.composition/v1","services":[` + service("1", "one") + `]}`, `services[0] has id 1`},
		"no id":          {`{"format":"portolan.composition/v1","services":[` + strings.Replace(service("0", "bare"), `"id":0,`, "", 1) + `]}`, `services[0] has id 0`},
		"ids 0 and 1":    {`{"format":"portolan.composition/v1","services":[` + service("0", "a") + `,` + service("1", "b") + `]}`, "has id 0"},
		"a plan of id 1": {`{"format":"portolan.composition/v1","services":[` + service("2", "s") + `],"application_plans":[{"id":1,"service_id":2,"name":"g","system_name":"g","state":"published"}]}`, `application_plans[0] has id 1`},
	} {
		t.Run(name, func(t *testing.T) {
			w := importDocument(c, []byte(tc.doc))
			require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), tc.entity)
			assert.Contains(t, w.Body.String(), `"id"`, "the answer names the field")
			assert.Zero(t, c.store.Snapshot().Services.Len(), "nothing imported")
		})
	}
}
