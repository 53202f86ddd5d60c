package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// A view a peer offers is taken only under its own signed revision, never the one the peer claims.
func TestPeerViewIsRefusedUnderARevisionNotItsOwn(t *testing.T) {
	tx := composition.NewTx(composition.New(), time.Now())
	svc := &composition.Service{Name: "News", BackendVersion: "1"}
	require.NoError(t, tx.Create(svc))
	snap := tx.Result()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := registry.NewSigner(key, bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	view, err := s.View(snap, svc.SystemName, time.Now())
	require.NoError(t, err)

	a, err := New(context.Background(), Config{Command: []string{"true"}, Service: svc.SystemName, CacheDir: t.TempDir(), Logger: zerolog.Nop()})
	require.NoError(t, err)
	_, err = a.comp.setKey(pub)
	require.NoError(t, err)

	require.NoError(t, a.acceptFromPeer(snap.Revision, view), "the genuine view at its own revision is accepted")
	assert.Error(t, a.acceptFromPeer(999999, view),
		"a view of revision %d offered by a peer as revision 999999 must be refused", snap.Revision)
}
