package mgmt

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A HEAD is answered as GET without the body, and without a length the
// proxy cannot know (RFC 9110 section 8.6: "a server MUST NOT send
// Content-Length in such a response unless its field value equals the
// decimal number of octets that would have been sent in the content of a
// response if the same request had used the GET method"). It claimed an
// empty body, Content-Length: 0.
func TestHeadNeverClaimsAnEmptyBody(t *testing.T) {
	co := testenv.StartCoordinator(t)
	env := startProxy(t, co.URL, co.Token, testSelection)
	resp, body := call(t, http.MethodGet, env.url+"/admin/api/services.json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NotEmpty(t, body)

	resp, _ = call(t, http.MethodHead, env.url+"/admin/api/services.json", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		assert.Equal(t, strconv.Itoa(len(body)), cl, "HEAD's Content-Length is GET's body length")
	}
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/json", "HEAD has GET's headers")

	// The spec the proxy serves knows its length.
	resp, doc := call(t, http.MethodGet, env.url+specPath, "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = call(t, http.MethodHead, env.url+specPath, "", "")
	assert.Equal(t, strconv.Itoa(len(doc)), resp.Header.Get("Content-Length"))
}
