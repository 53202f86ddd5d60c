package coordinator

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// Hashing a password costs tens of milliseconds (argon2id): documents with
// many users in plain text, even sent as a dry run (as `portolan diff` on a
// pull request sends them), never hold the other writes of the composition
// back while their passwords are hashed.
func TestPasswordsAreHashedWithoutHoldingOtherWritesBack(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\nusers:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "- {username: u%d, email: u%d@example.com, password: pass-%d}\n", i, i, i)
	}
	answered := make(chan string, 1)
	go func() {
		code, body := postApply(t, c, "dry_run=true", b.String())
		answered <- fmt.Sprint(code, " ", body)
	}()
	time.Sleep(200 * time.Millisecond) // the apply is hashing
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.store.Update(ctx, func(tx *composition.Tx) error {
		return tx.Create(&composition.Account{OrgName: "Other", State: "approved"})
	})
	require.NoError(t, err)
	select {
	case got := <-answered:
		t.Fatalf("another write waited for the apply's hashing to end: %.200s", got)
	default:
	}
	got := <-answered
	require.True(t, strings.HasPrefix(got, fmt.Sprint(http.StatusOK)), got)
}

// A password given in plain text is stored hashed; the same one applied
// again is home's hash already, and makes no revision.
func TestPasswordAppliedAgainChangesNothing(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	doc := "apiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\nusers:\n- {username: alice, email: alice@example.com, password: s3cret-pass}\n"
	code, body := postApply(t, c, "", doc)
	require.Equal(t, http.StatusOK, code, body)
	u, ok := c.store.Snapshot().Users.Find(func(u *composition.User) bool { return u.Username == "alice" })
	require.True(t, ok)
	require.True(t, composition.IsPasswordHash(u.Password), "stored hashed")
	same, err := composition.VerifyPassword(u.Password, "s3cret-pass")
	require.NoError(t, err)
	require.True(t, same)
	rev := c.store.Snapshot().Revision
	code, body = postApply(t, c, "", doc)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"changes":[]`)
	require.Equal(t, rev, c.store.Snapshot().Revision)
	code, body = postApply(t, c, "", strings.Replace(doc, "s3cret-pass", "other-pass", 1))
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"field":"password","old":"(secret)","new":"(secret)"`)
}
