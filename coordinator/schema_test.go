package coordinator_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// The composition documents' schema is served to anyone, without a token;
// the rest of /admin/portolan still wants one.
func TestSchemaIsServedWithoutAToken(t *testing.T) {
	base, _ := startUsageHome(t, t.TempDir())
	res, err := http.Get(base + "/admin/portolan/schema.json")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/schema+json", res.Header.Get("Content-Type"))
	assert.Equal(t, string(manifest.Schema()), string(body))

	res, err = http.Post(base+"/admin/portolan/schema.json", "application/json", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "only GET is public")
	res, err = http.Get(base + "/admin/portolan/composition")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
}
