package registry

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/pki"
)

// slowDisk is a join token store whose file writes wait for release: a
// disk that takes its time to sync.
type slowDisk struct {
	tokens  *JoinTokenStore
	hold    atomic.Bool
	release chan struct{}
	syncs   atomic.Int64
}

func newSlowDisk(t *testing.T) *slowDisk {
	t.Helper()
	tokens, err := OpenJoinTokenStore(filepath.Join(t.TempDir(), JoinTokenFile))
	require.NoError(t, err)
	d := &slowDisk{tokens: tokens, release: make(chan struct{})}
	tokens.writeFile = func(path string, data []byte, perm os.FileMode) error {
		d.syncs.Add(1)
		if d.hold.Load() {
			<-d.release
		}
		return atomicfile.Write(path, data, perm)
	}
	return d
}

// A join token written on a slow disk (created or revoked) stalls no
// heartbeat and no registration through another token: the file is
// written without the registry's lock.
func TestSlowTokenFileStallsNoHeartbeat(t *testing.T) {
	d := newSlowDisk(t)
	clk := newClock()
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), JoinTokens: d.tokens, Now: clk.Now})
	require.NoError(t, err)
	keep, err := r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	old, err := r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	_, err = r.register("a", reg("news"), grant{tokenID: old.ID, token: &JoinTokenRecord{ID: old.ID}})
	require.NoError(t, err)

	d.hold.Store(true)
	created, revoked := make(chan error, 1), make(chan error, 1)
	go func() { _, err := r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{}); created <- err }()
	go func() { _, err := r.RevokeJoinToken(old.ID); revoked <- err }()
	time.Sleep(50 * time.Millisecond) // both are writing the file, or waiting to

	served := make(chan error, 1)
	go func() {
		if _, err := r.Heartbeat("a", Heartbeat{Status: StatusPassing}); err != nil {
			served <- err
			return
		}
		rec, _ := d.tokens.Get(keep.ID)
		_, err := r.register("b", reg("news"), grant{tokenID: keep.ID, token: &rec})
		served <- err
	}()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		close(d.release)
		t.Fatal("a heartbeat or a registration waited for the join token file to be written")
	}
	close(d.release)
	require.NoError(t, <-created)
	require.NoError(t, <-revoked)
	require.Equal(t, StatusCritical, (&fixture{r: r}).status(t, "a"), "the revocation ended the instance once written")
}

// Creating a token drops every expired token no instance came through in
// one write of the file, not one write each.
func TestExpiredJoinTokensAreDroppedInOneWrite(t *testing.T) {
	d := newSlowDisk(t)
	clk := newClock()
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), JoinTokens: d.tokens, Now: clk.Now})
	require.NoError(t, err)
	for range 50 {
		_, err := r.CreateJoinToken(JoinTokenSpec{TTL: Duration(time.Minute)}, pki.Pin{})
		require.NoError(t, err)
	}
	clk.Advance(time.Hour)
	d.syncs.Store(0)
	_, err = r.CreateJoinToken(JoinTokenSpec{}, pki.Pin{})
	require.NoError(t, err)
	require.Equal(t, int64(2), d.syncs.Load(), "one write drops the 50 expired tokens, one adds the new token")
	require.Len(t, r.JoinTokens(), 1)
}
