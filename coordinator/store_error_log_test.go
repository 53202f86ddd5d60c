package coordinator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// A composition write that fails for the store's own reason is logged
// once, on one line holding what the operator needs: the API route it
// answered, the status and the store's error. (It was logged twice: by the
// API's server-error log and by the store's wrapper, the second line
// without the route.)
func TestAFailedCompositionWriteIsLoggedOnceWithItsRouteAndCause(t *testing.T) {
	line := failedWriteLogLine(t, "/admin/api/services.json", "application/x-www-form-urlencoded", "name=News&system_name=news")
	assert.Contains(t, line, `"route":"POST /admin/api/services"`)
	assert.Contains(t, line, `"status":`)
}

// Portolan's own placement API writes through the same API as 3scale's
// routes: a placement write the store fails is logged too, with its route
// (the store's wrapper that logged it is gone; its 500 hides the cause).
func TestAFailedPlacementWriteIsLoggedWithItsRouteAndCause(t *testing.T) {
	line := failedWriteLogLine(t, "/admin/portolan/placements", "application/json",
		`{"name":"eu","selector":{"service":"news","labels":{"zone":"eu-1"}},"service_id":1}`)
	assert.Contains(t, line, `"route":"POST /admin/portolan/placements"`)
}

// failedWriteLogLine POSTs body to path of a coordinator whose store is
// closed (every write fails for the store's own reason), and returns the
// one error line logged for it, which names no token.
func failedWriteLogLine(t *testing.T, path, contentType, body string) string {
	t.Helper()
	var log lockedBuffer
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: fixtureToken, Logger: zerolog.New(&log)})
	require.NoError(t, err)
	t.Cleanup(func() { c.ln.Close(); c.usage.Close() })
	require.NoError(t, c.store.Close())
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth("", fixtureToken)
	w := httptest.NewRecorder()
	c.server.Handler.ServeHTTP(w, req)
	require.GreaterOrEqual(t, w.Code, 500, w.Body.String())

	var lines []string
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, composition.ErrClosed.Error()) {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, "one line for one failed write:\n%s", log.String())
	assert.Contains(t, lines[0], `"level":"error"`)
	assert.NotContains(t, lines[0], fixtureToken, "the log shows no token")
	return lines[0]
}
