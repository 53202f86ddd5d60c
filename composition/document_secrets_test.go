package composition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportWithoutSecrets(t *testing.T) {
	src := newTestHead()
	var secrets richSecrets
	mustUpdate(t, src, func(tx *Tx) error { secrets = buildRich(t, tx); return nil })
	snap := src.Snapshot()
	withSecrets := snapshotJSON(t, snap)

	d := Export(snap, false, testNow)
	assert.False(t, d.Secrets)
	require.NotEmpty(t, d.Applications)
	for _, a := range d.Applications {
		assert.Empty(t, a.UserKey)
		assert.Empty(t, a.AppKeys)
		assert.Empty(t, a.AppID)
		assert.Empty(t, a.ProviderVerificationKey)
	}
	for _, u := range d.Users {
		assert.Empty(t, u.Password)
	}
	for _, p := range d.Proxies {
		assert.Empty(t, p.SecretToken)
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	text := string(b)
	var all []string
	for _, list := range [][]string{secrets.userKeys, secrets.appKeys, secrets.appIDs, secrets.passwords, secrets.secretTokens} {
		require.NotEmpty(t, list)
		all = append(all, list...)
	}
	for _, s := range all {
		require.NotEmpty(t, s)
		assert.False(t, strings.Contains(text, s), "secret %q leaked into the export", s)
	}
	assert.Equal(t, withSecrets, snapshotJSON(t, snap), "exporting without secrets does not touch the snapshot")

	// Importing it makes fresh credentials.
	dst := newTestHead()
	var stats *ImportStats
	mustUpdate(t, dst, func(tx *Tx) error {
		var err error
		stats, err = Import(tx, reencode(t, d))
		return err
	})
	got := dst.Snapshot()
	for _, orig := range snap.Applications.All() {
		a, ok := got.Applications.Get(stats.IDs[orig.ID])
		require.True(t, ok)
		assert.NotEmpty(t, a.ProviderVerificationKey)
		assert.NotEqual(t, orig.ProviderVerificationKey, a.ProviderVerificationKey)
		svc, _ := got.Services.Get(a.ServiceID)
		switch svc.BackendVersion {
		case "1":
			assert.Regexp(t, `^[0-9a-f]{32}$`, a.UserKey)
			assert.NotContains(t, secrets.userKeys, a.UserKey)
			assert.Empty(t, a.AppID)
		case "2":
			assert.Empty(t, a.UserKey)
			assert.Regexp(t, `^[0-9a-f]{8}$`, a.AppID)
			assert.NotContains(t, secrets.appIDs, a.AppID)
			require.Len(t, a.AppKeys, 1)
			assert.NotContains(t, secrets.appKeys, a.AppKeys[0])
		}
	}
	require.Equal(t, snap.Proxies.Len(), got.Proxies.Len())
	for _, p := range got.Proxies.All() {
		assert.NotEmpty(t, p.SecretToken)
		assert.NotContains(t, secrets.secretTokens, p.SecretToken)
	}
	for _, u := range got.Users.All() {
		assert.Empty(t, u.Password)
	}

	// Without secrets, the canonical forms of the two still agree.
	wantCanon, err := d.Canonical()
	require.NoError(t, err)
	gotCanon, err := Export(got, false, testNow).Canonical()
	require.NoError(t, err)
	require.Equal(t, wantCanon, gotCanon)
}
