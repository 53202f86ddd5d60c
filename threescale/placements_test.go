package threescale_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Placements are Portolan's own API: not in the route table (so neither in
// the OpenAPI document nor the auth tests of 3scale's routes) and not served
// by the 3scale router.
func TestPlacementsAreNotThreescaleRoutes(t *testing.T) {
	api, _, srv := newAPIServer(t)
	for _, rt := range api.Routes() {
		assert.False(t, strings.HasPrefix(rt.Path, "/admin/portolan/"), "%s %s", rt.Method, rt.Path)
	}
	resp, err := http.Get(srv.URL + "/admin/portolan/placements?access_token=" + goodToken)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// HandlePlacements serves the collection with Portolan's wire: a JSON body
// in, encoding/json out, a PUT replacing every field, a delete without body.
func TestPlacementsRoundTripAsPlainJSON(t *testing.T) {
	api, store, _ := newAPIServer(t)
	snap, err := store.Update(t.Context(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "News", SystemName: "news"})
	})
	require.NoError(t, err)
	service := snap.Services.All()[0].ID
	mux := http.NewServeMux()
	api.HandlePlacements(mux)
	call := func(method, path, body string) (int, string, http.Header) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		b, err := io.ReadAll(rec.Body)
		require.NoError(t, err)
		return rec.Code, string(b), rec.Header()
	}

	code, body, _ := call("POST", "/admin/portolan/placements",
		`{"name":"pool","selector":{"service":"newsapi","labels":{"pool":"a"}},"service_id:":0}`)
	assert.Equal(t, http.StatusBadRequest, code, body)
	code, body, _ = call("POST", "/admin/portolan/placements",
		`{"name":"pool","selector":{"service":"newsapi","labels":{"pool":"a"}},"service_id":`+num(service)+`}`)
	require.Equal(t, http.StatusCreated, code, body)
	assert.Contains(t, body, `{"placement":{"id":`)
	assert.Contains(t, body, `"labels":{"pool":"a"}`)
	p := snapPlacement(t, store)

	code, body, _ = call("GET", "/admin/portolan/placements", "")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.HasPrefix(body, `{"placements":[{"id":`+num(p.ID)+`,"name":"pool"`), body)
	assert.True(t, strings.HasSuffix(body, "}]}\n"), body)

	code, body, _ = call("PUT", "/admin/portolan/placements/"+num(p.ID), `{"selector":{"service":"other"},"service_id":`+num(service)+`}`)
	require.Equal(t, http.StatusOK, code, body)
	after := snapPlacement(t, store)
	assert.Equal(t, "other", after.Name, "a PUT replaces the whole placement: the name defaults again")
	assert.Empty(t, after.Selector.Labels)
	assert.Equal(t, p.CreatedAt, after.CreatedAt)

	code, body, h := call("DELETE", "/admin/portolan/placements/"+num(p.ID), "")
	assert.Equal(t, http.StatusOK, code)
	assert.Empty(t, body)
	assert.Empty(t, h.Get("Content-Type"))
	code, body, _ = call("GET", "/admin/portolan/placements/"+num(p.ID), "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.JSONEq(t, `{"status":"Not found"}`, body)
}

func snapPlacement(t *testing.T, store composition.Store) *composition.Placement {
	t.Helper()
	all := store.Snapshot().Placements.All()
	require.Len(t, all, 1)
	return all[0]
}

func num(id int64) string { return strconv.FormatInt(id, 10) }
