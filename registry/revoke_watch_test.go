package registry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// watchHome is a registry serving views, with the service news and an
// instance of it registered through a join token.
type watchHome struct {
	r     *Registry
	h     http.Handler
	store memStore
	svc   *composition.Service
	token string // the join token's id
	cred  string // the instance's credential
}

func newWatchHome(t *testing.T) *watchHome {
	t.Helper()
	store := newMemStore()
	svc := &composition.Service{Name: "News", SystemName: "news", BackendVersion: "1"}
	store.write(t, func(tx *composition.Tx) error { return tx.Create(svc) })
	tokens, err := OpenJoinTokenStore(filepath.Join(t.TempDir(), JoinTokenFile))
	require.NoError(t, err)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := NewSigner(key, bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	r, err := New(Config{Store: store, Logger: zerolog.Nop(), JoinTokens: tokens, Signer: signer})
	require.NoError(t, err)
	h := r.Handler(Access{})
	jt, err := r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	code, _, body := serve(t, h, "PUT", "/v1/instances/a", jt.Token, `{"service":"news","address":"10.0.0.1","port":80}`)
	require.Equal(t, http.StatusOK, code, body)
	var reply RegisterReply
	require.NoError(t, json.Unmarshal([]byte(body), &reply))
	return &watchHome{r: r, h: h, store: store, svc: svc, token: jt.JoinTokenInfo.ID, cred: reply.Credential}
}

type watchAnswer struct {
	code int
	body string
}

// watch opens a blocking GET of path and returns where its answer comes,
// once it is waiting.
func (wh *watchHome) watch(t *testing.T, path string) <-chan watchAnswer {
	t.Helper()
	done := make(chan watchAnswer, 1)
	go func() {
		code, _, body := serve(t, wh.h, "GET", path, wh.cred, "")
		done <- watchAnswer{code, body}
	}()
	time.Sleep(200 * time.Millisecond) // the watch is waiting
	return done
}

// A blocking GET /v1/composition opened before its instance's join token
// was revoked is not answered, after it, with the view of a revision made
// after the revocation (the service's secret token and key digests as
// they are now): it ends with a 401.
func TestRevokedInstanceGetsNoViewThroughAnOpenWatch(t *testing.T) {
	wh := newWatchHome(t)
	rev := wh.store.Snapshot().Revision
	done := wh.watch(t, "/v1/composition?index="+strconv.FormatUint(rev, 10)+"&wait=5s")

	n, err := wh.r.RevokeJoinToken(wh.token)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// The operator, having revoked a leaked token, changes the service.
	wh.store.write(t, func(tx *composition.Tx) error {
		s, _ := tx.View().Services.Get(wh.svc.ID)
		c := *s
		c.Description = "after the revocation"
		return tx.Update(&c)
	})

	a := <-done
	require.Equal(t, http.StatusUnauthorized, a.code,
		"a revoked instance's open watch is refused, not answered with a view made after the revocation: %.200s", a.body)
	require.NotContains(t, a.body, "after the revocation")
}

// The revocation ends an instance's open watches at once, the composition's
// and the map's, rather than leaving them to their wait.
func TestRevocationEndsTheInstancesOpenWatches(t *testing.T) {
	wh := newWatchHome(t)
	rev := wh.store.Snapshot().Revision
	comp := wh.watch(t, "/v1/composition?index="+strconv.FormatUint(rev, 10)+"&wait=30s")
	m := wh.watch(t, "/v1/map?index="+strconv.FormatUint(wh.r.Index(), 10)+"&wait=30s")

	_, err := wh.r.RevokeJoinToken(wh.token)
	require.NoError(t, err)
	for name, done := range map[string]<-chan watchAnswer{"composition": comp, "map": m} {
		select {
		case a := <-done:
			require.Equal(t, http.StatusUnauthorized, a.code, "%s: %.200s", name, a.body)
			require.Contains(t, a.body, "revoked", name)
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s watch of a revoked instance waits on", name)
		}
	}
}

// Deregistering an instance ends its open composition watch too: its
// credential is gone.
func TestDeregistrationEndsTheInstancesOpenWatch(t *testing.T) {
	wh := newWatchHome(t)
	rev := wh.store.Snapshot().Revision
	done := wh.watch(t, "/v1/composition?index="+strconv.FormatUint(rev, 10)+"&wait=30s")
	require.NoError(t, wh.r.Deregister("a"))
	select {
	case a := <-done:
		require.Equal(t, http.StatusUnauthorized, a.code, a.body)
	case <-time.After(10 * time.Second):
		t.Fatal("the composition watch of a deregistered instance waits on")
	}
}
