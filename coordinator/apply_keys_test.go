package coordinator

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// An account whose org_name spells another entity's natural key (a
// developer picks the org_name at signup) neither confuses nor breaks
// apply.
func TestOrgNameSpellingAnotherKeyChangesNothing(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	acme := `apiVersion: portolan.dev/v1
kind: Account
org_name: ACME
users:
- {username: alice, email: alice@acme.example}
`
	code, body := postApply(t, c, "", acme)
	require.Equal(t, 200, code, body)
	_, err := c.store.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Account{OrgName: "ACME/user:alice"})
	})
	require.NoError(t, err)
	rev := c.store.Snapshot().Revision
	require.NotPanics(t, func() { code, body = postApply(t, c, "", acme) })
	require.Equal(t, 200, code, body)
	require.Equal(t, rev, c.store.Snapshot().Revision, "nothing changed: %s", body)
}
