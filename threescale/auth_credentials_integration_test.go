package threescale_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A request giving access_token twice is read as porta reads it, its last
// value: a good token followed by a bad one is refused, whichever API path
// and wherever the values are (query or form body), and no request can try
// several tokens at once.
func TestGoodTokenThenBadOneIsRefused(t *testing.T) {
	co := testenv.StartCoordinator(t)
	call := func(method, target, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, co.URL+target, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	twice := url.Values{"access_token": {co.Token, "wrong-token"}}.Encode()
	assert.Equal(t, http.StatusForbidden, call(http.MethodGet, "/admin/api/services.json?"+twice, ""),
		"?access_token=good&access_token=bad: porta reads bad")
	assert.Equal(t, http.StatusForbidden, call(http.MethodPost, "/admin/api/services.json", twice+"&name=Twice"),
		"a form body's access_token=good&access_token=bad: porta reads bad")
	assert.Equal(t, http.StatusOK, call(http.MethodGet, "/admin/api/services.json?"+url.Values{"access_token": {"wrong-token", co.Token}}.Encode(), ""),
		"bad then good: the last, good")
}
