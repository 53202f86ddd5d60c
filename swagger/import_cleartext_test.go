package swagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The access token rides every call as Basic auth: plain http carries it
// only on loopback.
func TestImportRefusesPlainHTTPAdminURLOffLoopback(t *testing.T) {
	_, err := newAdminAPI(ImportConfig{Home: "http://admin.example.com", Token: "s3cret"})
	require.Error(t, err, "the token would go to admin.example.com in clear")
	assert.Contains(t, err.Error(), "in clear")
	assert.NotContains(t, err.Error(), "s3cret")
	for _, ok := range []string{"http://127.0.0.1:7070", "http://localhost:7070", "https://admin.example.com"} {
		_, err := newAdminAPI(ImportConfig{Home: ok, Token: "s3cret"})
		assert.NoError(t, err, ok)
	}
}
