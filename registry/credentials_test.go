package registry

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// TestRegistryHoldsOnlyCredentialHashes: the credential is returned once;
// the registry's records hold its SHA-256 and never the secret itself.
func TestRegistryHoldsOnlyCredentialHashes(t *testing.T) {
	f := newFixture(t)
	reply, err := f.r.Register("a-1", reg("news"))
	require.NoError(t, err)
	cred := reply.Credential
	require.Len(t, cred, 43, "32 random bytes, base64url")
	again, err := f.r.Register("a-1", reg("news"))
	require.NoError(t, err)
	assert.NotEqual(t, cred, again.Credential, "each registration issues a new credential")

	f.r.mu.Lock()
	dump := fmt.Sprintf("%#v %#v %#v", f.r.instances, f.r.byCred, *f.r.instances["a-1"])
	held := f.r.instances["a-1"].credHash
	f.r.mu.Unlock()
	for _, c := range []string{cred, again.Credential} {
		assert.NotContains(t, dump, c, "no record holds a credential")
	}
	assert.Equal(t, credentialHash(sha256.Sum256([]byte(again.Credential))), held)

	_, _, ok := f.r.instanceByCredential(cred)
	assert.False(t, ok, "the credential of the replaced registration is gone")
	id, _, ok := f.r.instanceByCredential(again.Credential)
	assert.True(t, ok)
	assert.Equal(t, "a-1", id)
	last := "A" // another last character, whatever the credential's is (1 in 64 ends in A)
	if strings.HasSuffix(again.Credential, last) {
		last = "B"
	}
	_, _, ok = f.r.instanceByCredential(again.Credential[:42] + last)
	assert.False(t, ok)
}

// TestJoinTokenRecordsHoldNoSecret: the join token store, in memory and on
// disk, holds the token's hash and scope, never its secret.
func TestJoinTokenRecordsHoldNoSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), JoinTokenFile)
	store, err := OpenJoinTokenStore(file)
	require.NoError(t, err)
	r, err := New(Config{Store: newMemStore(), Logger: zerolog.Nop(), JoinTokens: store, Now: newClock().Now})
	require.NoError(t, err)
	var pin pki.Pin
	pin[0] = 1
	created, err := r.CreateJoinToken(JoinTokenSpec{Service: "news", TTL: Duration(time.Hour)}, pin)
	require.NoError(t, err)
	secret := strings.Split(created.Token, ".")[2]
	assert.True(t, strings.HasSuffix(created.Token, "."+strings.TrimPrefix(pin.String(), pki.PinPrefix)), "the token carries the pin")

	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret)
	assert.NotContains(t, fmt.Sprintf("%#v", store.List()), secret)
	assert.NotContains(t, fmt.Sprintf("%#v", r.JoinTokens()), secret)
}

// TestScopeOfLabels: a token naming labels requires each with its value,
// none left out, and no label it does not name; a token naming none leaves
// labels free.
func TestScopeOfLabels(t *testing.T) {
	scoped := &JoinTokenRecord{Service: "news", Labels: map[string]string{"pool": "basic", "zone": "a"}}
	for labels, ok := range map[string]bool{
		"":                   false,
		"pool=basic":         false,
		"zone=a":             false,
		"pool=basic,zone=a":  true,
		"pool=premium":       false,
		"pool=basic,zone=b":  false,
		"pool=basic,tier=g":  false,
		"pool=basic,pool2=x": false,
	} {
		r := reg("news")
		r.Labels = map[string]string{}
		for kv := range strings.SplitSeq(labels, ",") {
			if k, v, found := strings.Cut(kv, "="); found {
				r.Labels[k] = v
			}
		}
		err := scoped.allows(&r)
		assert.Equal(t, ok, err == nil, "%q: %v", labels, err)
	}
	r := reg("billing")
	assert.ErrorIs(t, scoped.allows(&r), ErrScope)
	free := &JoinTokenRecord{}
	r.Labels = map[string]string{"anything": "goes"}
	assert.NoError(t, free.allows(&r))
}
