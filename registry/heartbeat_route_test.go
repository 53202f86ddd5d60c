package registry

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// A heartbeat is served without the mux (serveHeartbeatFrom); one whose
// path is escaped goes through the mux. Both answer every caller alike:
// the instance itself, another instance, a revoked one, a replaced one, a
// removed one, the bootstrap token, a join token, garbage and nothing.
func TestHeartbeatAnswersAsThroughTheMux(t *testing.T) {
	store, err := OpenJoinTokenStore(filepath.Join(t.TempDir(), JoinTokenFile))
	require.NoError(t, err)
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), JoinTokens: store, Now: newClock().Now})
	require.NoError(t, err)
	h := r.Handler(Access{BootstrapToken: "tok"})
	joined, err := r.CreateJoinToken(JoinTokenSpec{Service: "news", TTL: Duration(time.Hour)}, pki.Pin{1})
	require.NoError(t, err)
	rec, ok := r.tokens.Get(joined.ID)
	require.True(t, ok)
	bootstrap, viaToken := grant{}, grant{tokenID: rec.ID, token: &rec}
	register := func(id string, g grant) string {
		reply, err := r.register(id, reg("news"), g)
		require.NoError(t, err)
		return reply.Credential
	}
	self, other := register("self", bootstrap), register("other", bootstrap)
	revoked := register("revoked", viaToken)
	replaced := register("replaced", bootstrap)
	register("replaced", bootstrap)
	removed := register("removed", bootstrap)
	require.NoError(t, r.Deregister("removed"))
	_, err = r.RevokeJoinToken(joined.ID)
	require.NoError(t, err)

	for _, tc := range []struct {
		name, id, token, body string
		want                  int
	}{
		{"self", "self", self, `{"status":"passing"}`, http.StatusOK},
		{"self, bad body", "self", self, `{"status":`, http.StatusBadRequest},
		{"self, bad status", "self", self, `{"status":"fine"}`, http.StatusBadRequest},
		{"another instance", "self", other, `{"status":"passing"}`, http.StatusForbidden},
		{"revoked", "revoked", revoked, `{"status":"passing"}`, http.StatusUnauthorized},
		{"revoked, bad body", "revoked", revoked, `{`, http.StatusUnauthorized},
		{"replaced", "replaced", replaced, `{"status":"passing"}`, http.StatusUnauthorized},
		{"removed", "removed", removed, `{"status":"passing"}`, http.StatusNotFound},
		{"bootstrap token", "self", "tok", `{"status":"passing"}`, http.StatusForbidden},
		{"join token", "self", joined.Token, `{"status":"passing"}`, http.StatusUnauthorized},
		{"garbage", "self", "nope", `{"status":"passing"}`, http.StatusUnauthorized},
		{"garbage, unknown id", "nobody", "nope", `{"status":"passing"}`, http.StatusNotFound},
		{"nothing", "self", "", `{"status":"passing"}`, http.StatusUnauthorized},
	} {
		answer := func(path string) (int, http.Header, string) {
			req := httptest.NewRequest(http.MethodPut, path, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			assert.Equal(t, !strings.Contains(path, "%"), IsHeartbeat(req), "%s: %s", tc.name, path)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code, rec.Header(), rec.Body.String()
		}
		code, hdr, body := answer(PathInstances + tc.id + PathHeartbeat)
		escaped := fmt.Sprintf("%s%%%02X%s%s", PathInstances, tc.id[0], tc.id[1:], PathHeartbeat)
		muxCode, muxHdr, muxBody := answer(escaped)
		assert.Equal(t, tc.want, code, "%s: %s", tc.name, body)
		assert.Equal(t, muxCode, code, tc.name)
		assert.Equal(t, muxBody, body, tc.name)
		assert.Equal(t, muxHdr, hdr, tc.name)
	}
}

// Only a clean, unescaped PUT of an instance's heartbeat path is served
// without the mux.
func TestIsHeartbeat(t *testing.T) {
	for target, want := range map[string]bool{
		"/v1/instances/a-1/heartbeat":       true,
		"/v1/instances/a-1.b:c_d/heartbeat": true,
		"/v1/instances//heartbeat":          false,
		"/v1/instances/./heartbeat":         false,
		"/v1/instances/../heartbeat":        false,
		"/v1/instances/a/b/heartbeat":       false,
		"/v1/instances/%61/heartbeat":       false,
		"/v1/instances/a/heartbeat/":        false,
		"/v1/instances/a/drain":             false,
		"/v1/instances/a":                   false,
		"/v2/instances/a/heartbeat":         false,
		"/v1/instances/a/heartbeat?x=1":     true,
	} {
		assert.Equal(t, want, IsHeartbeat(httptest.NewRequest(http.MethodPut, target, nil)), target)
	}
	assert.False(t, IsHeartbeat(httptest.NewRequest(http.MethodPost, "/v1/instances/a/heartbeat", nil)))
}

// A heartbeat applied for an instance looked up before the lock is refused
// when another registration has replaced it since.
func TestBeatRefusesAReplacedInstance(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	f.r.mu.Lock()
	stale := f.r.instances["a"]
	f.r.mu.Unlock()
	_, err = f.r.beat("a", stale, Heartbeat{Status: StatusPassing})
	require.NoError(t, err, "still the one registered")
	_, err = f.r.Register("a", reg("news"))
	require.NoError(t, err)
	_, err = f.r.beat("a", stale, Heartbeat{Status: StatusPassing})
	assert.ErrorIs(t, err, ErrUnknown)
}
