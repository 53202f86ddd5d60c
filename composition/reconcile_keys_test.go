package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Free text chosen at signup (an org_name) may spell another entity's key
// or an ordinal: keys stay apart, and each entity is matched to itself.
func TestFreeTextNamesCannotSpellOtherKeys(t *testing.T) {
	c := built(t, func(tx *Tx) {
		acme := &Account{OrgName: "ACME"}
		require.NoError(t, tx.Create(acme))
		require.NoError(t, tx.Create(&User{AccountID: acme.ID, Username: "alice", Email: "alice@acme.example"}))
		for _, name := range []string{"ACME/user:alice", "Dup#2", "Dup", "Dup", "100%2F"} {
			require.NoError(t, tx.Create(&Account{OrgName: name}))
		}
	})
	x := newKeyIndex(c)
	assert.Equal(t, KindUser, x.ids["account:ACME/user:alice"].kind, "keys: %v", x.ids)
	assert.Equal(t, KindAccount, x.ids["account:ACME%2Fuser:alice"].kind, "keys: %v", x.ids)
	assert.Equal(t, KindAccount, x.ids["account:Dup%232"].kind, "keys: %v", x.ids)
	assert.Equal(t, KindAccount, x.ids["account:Dup#2"].kind, "the second Dup takes the ordinal: %v", x.ids)
	assert.Equal(t, KindAccount, x.ids["account:100%252F"].kind, "keys: %v", x.ids)
	p, err := Diff(c, renumbered(t, c), DiffOptions{Prune: true, Secrets: true})
	require.NoError(t, err)
	assert.Empty(t, planSummary(p))
}

// A key naming an entity of another kind is an error naming both, never
// one entity compared as the other.
func TestKeyOfAnotherKindIsAnError(t *testing.T) {
	c := built(t, func(tx *Tx) {
		acme := &Account{OrgName: "ACME"}
		require.NoError(t, tx.Create(acme))
		require.NoError(t, tx.Create(&User{AccountID: acme.ID, Username: "alice", Email: "alice@acme.example"}))
	})
	_, ok, err := newKeyIndex(c).entityOf(KindAccount, "account:ACME/user:alice")
	require.Error(t, err)
	assert.False(t, ok)
	assert.Contains(t, err.Error(), string(KindUser))
	assert.Contains(t, err.Error(), string(KindAccount))
}
