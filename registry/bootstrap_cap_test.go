package registry

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// The bootstrap token (--agent-token) is held to --max-instances-per-token
// as a join token made without a cap is, so that it leaked cannot fill
// home; Register, in process, is not.
func TestBootstrapTokenIsCappedLikeAJoinToken(t *testing.T) {
	store, err := OpenJoinTokenStore(filepath.Join(t.TempDir(), JoinTokenFile))
	require.NoError(t, err)
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), JoinTokens: store,
		MaxInstances: 10, MaxInstancesPerToken: 2})
	require.NoError(t, err)
	h := r.Handler(Access{BootstrapToken: "bootstrap-secret"})
	const body = `{"service":"news","address":"10.0.0.1","port":80}`

	jt, err := r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	for _, tc := range []struct{ token, prefix string }{{jt.Token, "jt"}, {"bootstrap-secret", "boot"}} {
		for i := range 3 {
			code, _, b := serve(t, h, "PUT", fmt.Sprintf("/v1/instances/%s-%d", tc.prefix, i), tc.token, body)
			if i < 2 {
				require.Equal(t, http.StatusOK, code, "%s %d: %s", tc.prefix, i, b)
			} else {
				require.Equal(t, http.StatusTooManyRequests, code, "%s is held to --max-instances-per-token (2): %s", tc.prefix, b)
			}
		}
	}
	code, _, b := serve(t, h, "PUT", "/v1/instances/boot-1", "bootstrap-secret", body)
	require.Equal(t, http.StatusOK, code, "registering a live id again counts once: %s", b)
	require.NoError(t, r.Deregister("boot-0"))
	code, _, b = serve(t, h, "PUT", "/v1/instances/boot-2", "bootstrap-secret", body)
	require.Equal(t, http.StatusOK, code, "one left, another registers: %s", b)

	_, err = r.Register("in-process", Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err, "Register, in process, has no cap of its own")
}
