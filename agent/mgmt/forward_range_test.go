package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A partial answer could cut an echoed token in two and pass redactBody, and
// the 3scale API's JSON has no use for one: the upstream never sees Range
// or If-Range, and the app gets the whole answer, redacted.
func TestProxyNeverForwardsRange(t *testing.T) {
	const token = "mgmt-range-test-token-0123456789abcdef"
	rec := newRecorder(t, "http://127.0.0.1:1") // echo answers; nothing is forwarded
	rec.echo.Store(true)
	env := startProxy(t, rec.srv.URL, token, testSelection)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		resp, body := call(t, method, env.url+"/admin/api/services.json", "application/x-www-form-urlencoded", "",
			"Range", "bytes=0-40", "If-Range", `"etag"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		got := rec.last(t)
		assert.Empty(t, got.Header.Values("Range"), "%s: the upstream saw Range", method)
		assert.Empty(t, got.Header.Values("If-Range"), "%s: the upstream saw If-Range", method)
		assert.Contains(t, string(body), "access_token="+redacted, "%s: the whole answer, redacted", method)
		assert.NotContains(t, string(body), token[:20])
	}
}
