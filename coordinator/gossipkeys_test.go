package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/gossip"
)

// The keyring is made on first start (one AES-256 key, 0600) and kept.
func TestGossipKeyringMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Logger: zerolog.Nop()}
	k, err := openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	keys, version := k.Current()
	require.Len(t, keys, 1)
	assert.Equal(t, uint64(1), version)
	raw, err := gossip.ParseKey(keys[0])
	require.NoError(t, err)
	assert.Len(t, raw, 32)
	fi, err := os.Stat(filepath.Join(dir, GossipKeyringFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	keys2, version2 := again.Current()
	assert.Equal(t, keys, keys2, "a restart keeps the keyring")
	assert.Equal(t, version, version2)

	require.NoError(t, os.WriteFile(filepath.Join(dir, GossipKeyringFile), []byte(`{"keys":["short"]}`), 0o600))
	_, err = openGossipKeyring(cfg, time.Second)
	assert.ErrorContains(t, err, "gossip keyring")
}

// A rotation adds the new key as a secondary at once, makes it primary at
// half the grace and drops the old one at its end; each step is a new
// version, saved, and survives a restart mid-way.
func TestGossipKeyringRotatesInThreeSteps(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	cfg := Config{DataDir: dir, Logger: zerolog.Nop()}
	k, err := openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	k.now = clock
	assert.Equal(t, 4*time.Second, k.grace, "default grace: 4 heartbeat intervals")
	old, v0 := k.Current()
	changed, next := k.watch()
	assert.True(t, next.IsZero(), "no step pending")

	rot, err := k.Rotate()
	require.NoError(t, err)
	assert.Equal(t, now.Add(2*time.Second), rot.PrimaryAt)
	assert.Equal(t, now.Add(4*time.Second), rot.DropOldAt)
	select {
	case <-changed:
	default:
		t.Fatal("watchers hear the change")
	}
	step1, v1 := k.Current()
	require.Len(t, step1, 2)
	assert.Equal(t, old[0], step1[0], "the old key still encrypts")
	assert.Equal(t, v0+1, v1)
	_, err = k.Rotate()
	assert.ErrorIs(t, err, errRotating)
	_, next = k.watch()
	assert.Equal(t, rot.PrimaryAt, next)

	now = now.Add(2 * time.Second)
	step2, v2 := k.Current()
	assert.Equal(t, []string{step1[1], old[0]}, step2, "the new key is primary, the old still decrypts")
	assert.Equal(t, v1+1, v2)

	// A restart here finishes the rotation on time.
	k2, err := openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	k2.now = clock
	got, v := k2.Current()
	assert.Equal(t, step2, got)
	assert.Equal(t, v2, v)
	now = now.Add(2 * time.Second)
	step3, v3 := k2.Current()
	assert.Equal(t, []string{step1[1]}, step3, "the old key is dropped")
	assert.Equal(t, v2+1, v3)
	_, err = k2.Rotate()
	assert.NoError(t, err, "a new rotation once the last one ended")
}

func TestGossipKeyringConfig(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Logger: zerolog.Nop()}
	cfg.GossipKeyring = GossipKeyringConfig{Insecure: true}
	k, err := openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	assert.Nil(t, k, "insecure: no keyring, none handed out")
	_, err = os.Stat(filepath.Join(cfg.DataDir, GossipKeyringFile))
	assert.ErrorIs(t, err, os.ErrNotExist)

	fixed := [][]byte{make([]byte, 32), make([]byte, 16)}
	cfg.GossipKeyring = GossipKeyringConfig{Keys: fixed}
	k, err = openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	keys, _ := k.Current()
	assert.Equal(t, gossip.EncodeKeys(fixed), keys)
	_, err = k.Rotate()
	assert.ErrorIs(t, err, errKeyringFixed)

	cfg.GossipKeyring = GossipKeyringConfig{Keys: fixed, Insecure: true}
	_, err = openGossipKeyring(cfg, time.Second)
	assert.ErrorContains(t, err, "choose one")
	cfg.GossipKeyring = GossipKeyringConfig{Grace: time.Second}
	_, err = openGossipKeyring(cfg, time.Second)
	assert.ErrorContains(t, err, "shorter than two heartbeat intervals")
}

// A rotation home cannot save (a full disk) does not start: the call
// fails and the keyring is unchanged, rather than answered as started and
// undone by the next restart, which would bring back the key the operator
// meant to retire.
func TestGossipKeyRotationNotSavedDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	k, err := openGossipKeyring(Config{DataDir: dir, Logger: zerolog.Nop()}, time.Second)
	require.NoError(t, err)
	before, version := k.Current()
	changed, _ := k.watch()
	k.path = filepath.Join(dir, "gone", GossipKeyringFile) // the write fails
	_, err = k.Rotate()
	assert.ErrorContains(t, err, "the rotation did not start")
	after, version2 := k.Current()
	assert.Equal(t, before, after, "the keyring is unchanged")
	assert.Equal(t, version, version2)
	select {
	case <-changed:
		t.Error("watchers were told of a change")
	default:
	}
}

// A keyring file whose pending rotation holds a key that does not parse is
// refused at start, as one whose current keys do not: its step would hand
// the bad key to every agent.
func TestGossipKeyringWithABadPendingStepIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Logger: zerolog.Nop()}
	k, err := openGossipKeyring(cfg, time.Second)
	require.NoError(t, err)
	keys, _ := k.Current()
	doc := `{"version":2,"keys":["` + keys[0] + `"],"steps":[{"at":"2000-01-01T00:00:00Z","keys":["short"]}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, GossipKeyringFile), []byte(doc), 0o600))
	_, err = openGossipKeyring(cfg, time.Second)
	assert.ErrorContains(t, err, "step 1 of the rotation")
}
