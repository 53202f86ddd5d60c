package threescale

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
)

// failingAPI is the API with its log captured and the service list's
// handler replaced by fail.
func failingAPI(t *testing.T, token string, fail func(*call) error) (*API, *bytes.Buffer) {
	t.Helper()
	store, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	a := New(store, NewTokenChecker(token))
	var log bytes.Buffer
	a.SetLogger(zerolog.New(&log))
	for i := range a.routes {
		if rt := &a.routes[i]; rt.Method == http.MethodGet && rt.Path == "/admin/api/services" {
			rt.handle = fail
		}
	}
	return a, &log
}

func TestServerErrorsAreLoggedWithRouteButNoToken(t *testing.T) {
	const token = "log-test-token-0123456789"
	for name, fail := range map[string]func(*call) error{
		"handler error": func(*call) error { return errors.New("disk on fire") },
		"encoder error": func(c *call) error { return c.one("service", map[string]any{"f": func() {}}) },
	} {
		t.Run(name, func(t *testing.T) {
			a, log := failingAPI(t, token, fail)
			w := httptest.NewRecorder()
			a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/api/services.json?access_token="+token+"&page=1", nil))
			require.Equal(t, http.StatusInternalServerError, w.Code, w.Body.String())
			assert.JSONEq(t, `{"error":"Internal Server Error"}`, w.Body.String(), "a 5xx body hides its detail")
			out := log.String()
			assert.Contains(t, out, `"route":"GET /admin/api/services"`)
			assert.Contains(t, out, `"status":500`)
			if name == "handler error" {
				assert.Contains(t, out, "disk on fire")
			}
			assert.NotContains(t, out, token, "the log shows no token")
			assert.NotContains(t, out, "page=1", "the log shows no query string")
		})
	}
}

func TestClientErrorsAreNotLogged(t *testing.T) {
	const token = "log-test-token-0123456789"
	a, log := failingAPI(t, token, func(*call) error { return ErrNotFound })
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/api/services.json?access_token="+token, nil))
	require.Equal(t, http.StatusNotFound, w.Code)
	assert.Empty(t, strings.TrimSpace(log.String()))
}
