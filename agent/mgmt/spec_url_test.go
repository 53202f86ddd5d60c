package mgmt

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The spec decides which calls the proxy lets through with its admin
// token: fetched in plain HTTP off loopback, anyone on the way could swap
// it for one that lets through more, or read the access_token of an
// ActiveDocs URL (DESIGN "Trust": "HTTPS everywhere off loopback"). The
// proxy fetched it, and started with whatever came.
func TestProxyRefusesASpecInPlainHTTPOffLoopback(t *testing.T) {
	for _, spec := range []string{
		"http://192.0.2.10/account_management_api.json",
		"http://admin.example.com/admin/api/active_docs/1.json?access_token=spec-secret-123",
	} {
		cfg := Config{Spec: spec, Token: "t", Timeout: 200 * time.Millisecond}
		_, err := New(context.Background(), cfg, "http://127.0.0.1:1", zerolog.Nop())
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), "--mgmt-spec", spec)
		assert.Contains(t, err.Error(), "https://", spec)
		assert.NotContains(t, err.Error(), "spec-secret-123", "the URL's credential is not repeated")
	}
}
