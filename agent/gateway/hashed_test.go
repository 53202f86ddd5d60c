package gateway

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// agentView is snap as an agent placed in service receives it: the view
// home builds (credentials hashed under a fresh key), through JSON.
func agentView(t testing.TB, snap *composition.Snapshot, service string) *composition.Snapshot {
	t.Helper()
	key := make([]byte, composition.CredentialKeySize)
	_, _ = rand.Read(key)
	b, err := json.Marshal(composition.AgentView(snap, service, key, time.Now()))
	require.NoError(t, err)
	var d composition.Document
	require.NoError(t, json.Unmarshal(b, &d))
	c, err := d.Composition()
	require.NoError(t, err)
	return c
}

// The gateway authenticates against hashed keys: the view holds no key in
// clear, and a user_key or app_id/app_key presented is hashed and found;
// a digest presented as if it were the key is refused.
func TestGatewayAuthenticatesHashedKeys(t *testing.T) {
	for _, version := range []string{backendUserKey, backendAppID} {
		f := newGatewayFixture(t, version)
		view := agentView(t, f.tx.Result(), f.svc.SystemName)
		b, err := json.Marshal(composition.Export(view, true, time.Now()))
		require.NoError(t, err)
		for _, key := range []string{"premium-key", "basic-key", "premium-key-secret"} {
			assert.NotContains(t, string(b), key, "backend %s: the view holds no plaintext credential", version)
		}
		up, _ := echoUpstream(t, "app")
		_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
		stored, _ := view.Applications.Get(f.premiumApp.ID)
		if version == backendUserKey {
			assert.Equal(t, 200, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
			assert.Equal(t, 403, call(t, "GET", gw+"/?user_key=nope", nil).status)
			assert.Equal(t, 403, call(t, "GET", gw+"/?user_key="+stored.UserKey, nil).status, "the digest is not a key")
			continue
		}
		assert.Equal(t, 200, call(t, "GET", gw+"/?app_id=premium-key&app_key=premium-key-secret", nil).status)
		assert.Equal(t, 403, call(t, "GET", gw+"/?app_id=premium-key&app_key=basic-key-secret", nil).status, "another app's key")
		assert.Equal(t, 403, call(t, "GET", gw+"/?app_id="+stored.AppID+"&app_key="+stored.AppKeys[0], nil).status, "digests are not keys")
	}
}

// BenchmarkAuthenticate compares the gateway's lookup of a presented
// user_key and app_id/app_key in today's plaintext index and in a view's
// hashed one (goal: at most 1 µs more per request), in the same run.
func BenchmarkAuthenticate(b *testing.B) {
	for _, version := range []string{backendUserKey, backendAppID} {
		f := newGatewayFixture(b, version)
		plain := f.tx.Result()
		hashed := agentView(b, plain, f.svc.SystemName)
		q := "user_key=premium-key"
		if version == backendAppID {
			q = "app_id=premium-key&app_key=premium-key-secret"
		}
		req := httptest.NewRequest(http.MethodGet, "/?"+q, nil)
		src := newCredentialSource(composition.DefaultProxy(f.svc.ID), version)
		for _, tc := range []struct {
			name string
			snap *composition.Snapshot
		}{{"plaintext", plain}, {"hashed", hashed}} {
			name := strings.ReplaceAll("v"+version+"/"+tc.name, "/", "-")
			b.Run(name, func(b *testing.B) {
				x := composition.NewAppIndex(tc.snap, f.svc.ID)
				b.ReportAllocs()
				for b.Loop() {
					if _, _, d := x.Authenticate(src.extract(req)); d != nil {
						b.Fatal(d.Reason)
					}
				}
			})
		}
	}
}
