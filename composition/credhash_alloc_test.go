// The race detector makes sync.Pool drop items at random, so that a
// pooled digester is sometimes made anew: allocations are counted without it.

//go:build !race

package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Authenticating by hashed user_key or app_id/app_key allocates nothing:
// the presented credential is hashed through a pooled digester, never a
// buffer of the request's own.
func TestHashedAuthenticateAllocatesNothing(t *testing.T) {
	f := newAuthFixture(t)
	for _, tc := range []struct {
		name string
		svc  *Service
		cred Credentials
	}{
		{"user_key", f.svc1, Credentials{UserKey: f.keyApp.UserKey}},
		{"app_id/app_key", f.svc2, Credentials{AppID: f.idApp.AppID, AppKey: f.idApp.AppKeys[0]}},
	} {
		x := NewAppIndex(hashedView(t, f.c, tc.svc), tc.svc.ID)
		require.NotNil(t, x.hasher, "the view's index hashes")
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, d := x.Authenticate(tc.cred); d != nil {
				t.Fatal(d.Reason)
			}
		})
		assert.Zero(t, allocs, "allocations per hashed authentication by %s", tc.name)
	}
}
