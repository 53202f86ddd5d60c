package consulstore_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// Consul's ACL refusals, as these tests rely on them, were seen from the
// real Consul 1.15 (.tools/consul) and are worded in hashicorp/consul
// acl/errors.go ("ACL not found", "Permission denied"), answered 403 by
// agent/http.go: a KV list hides what the token may not read (404, with
// X-Consul-Results-Filtered-By-ACLs only for a token that is not the
// anonymous one), a read of one key is refused 403, and a transaction
// reports a refused operation in its errors with 409, as it does a failed
// check-and-set.

// seeded starts Consul with ACLs and writes one service under prefix with
// the management token.
func seeded(t *testing.T) *testenv.Consul {
	t.Helper()
	cs := testenv.StartConsulACL(t)
	s := open(t, cs.Client(t))
	_, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "News"})
	})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	return cs
}

func openWith(cs *testenv.Consul, t *testing.T, token string) (*consulstore.Store, error) {
	s, err := consulstore.Open(context.Background(), consulstore.Config{Client: cs.ClientWithToken(t, token), Prefix: prefix, Logger: zerolog.Nop()})
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	return s, err
}

// A token that may not read the prefix sees it empty: the store must refuse
// to open rather than serve an empty composition (and then write over the
// real one's revisions).
func TestOpenRefusesATokenThatCannotReadThePrefix(t *testing.T) {
	cs := seeded(t)
	for name, token := range map[string]string{
		"another prefix's token": cs.Token(t, "elsewhere", `key_prefix "other/" { policy = "write" }`),
		"no token (anonymous)":   "",
	} {
		t.Run(name, func(t *testing.T) {
			s, err := openWith(cs, t, token)
			var denied *consulstore.ErrDenied
			require.ErrorAs(t, err, &denied, "opened a composition of revision %d instead", revisionOf(s))
			assert.Contains(t, err.Error(), `key_prefix "test/" { policy = "write" }`, "says which policy the token needs")
			assert.Contains(t, err.Error(), "--consul-token")
			assert.Equal(t, 503, denied.HTTPStatus())
		})
	}
}

// A token Consul does not know is told as such: the token, not its policy,
// is what to check.
func TestOpenWithAnUnknownTokenSaysToCheckTheToken(t *testing.T) {
	cs := seeded(t)
	_, err := openWith(cs, t, "00000000-0000-4000-8000-000000000000")
	require.ErrorAs(t, err, new(*consulstore.ErrDenied))
	assert.Contains(t, err.Error(), "ACL not found")
	assert.Contains(t, err.Error(), "check --consul-token")
}

// A token that may read but not write fails the meta check-and-set as well
// as the entity sets: that is a refusal, not another coordinator's write, so
// it is not a conflict (which says to retry, and reloads) but ErrDenied,
// naming the permission missing.
func TestWriteWithAReadOnlyTokenIsDeniedNotAConflict(t *testing.T) {
	cs := seeded(t)
	s, err := openWith(cs, t, cs.Token(t, "read-only", `key_prefix "test/" { policy = "read" }`))
	require.NoError(t, err, "a read-only token opens the store")
	assert.Equal(t, 1, services(s))

	_, err = s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Two"})
	})
	require.Error(t, err)
	assert.False(t, errors.As(err, new(*consulstore.ErrConflict)), "a refused token is no conflict: %v", err)
	var denied *consulstore.ErrDenied
	require.ErrorAs(t, err, &denied)
	assert.Contains(t, err.Error(), "lacks permission 'key:write'", "Consul's words name the permission")
	assert.Contains(t, err.Error(), `key_prefix "test/" { policy = "write" }`)
	assert.Equal(t, 503, denied.HTTPStatus())
}

// The coordinator's policy in the README grants its whole prefix: the store
// opens, writes and reads with it.
func TestKeyPrefixWriteIsAllTheStoreNeeds(t *testing.T) {
	cs := seeded(t)
	tok := cs.Token(t, "coordinator", `key_prefix "test/" { policy = "write" }`)
	s, err := openWith(cs, t, tok)
	require.NoError(t, err)
	snap, err := s.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "Two"})
	})
	require.NoError(t, err)
	other, err := openWith(cs, t, tok)
	require.NoError(t, err)
	assert.Equal(t, snap.Revision, other.Snapshot().Revision)
	assert.Equal(t, 2, services(other))
}

func revisionOf(s *consulstore.Store) uint64 {
	if s == nil {
		return 0
	}
	return s.Snapshot().Revision
}

func services(s *consulstore.Store) int {
	n := 0
	s.Snapshot().Each(composition.KindService, func(composition.Entity) { n++ })
	return n
}

// A write with a token Consul no longer knows (deleted, revoked, expired) is
// ErrDenied naming the token, not an unknown outcome.
func TestRevokedTokenWriteIsDeniedNotUnknown(t *testing.T) {
	cs := testenv.StartConsulACL(t)
	token := cs.Token(t, "coordinator", `key_prefix "`+prefix+`" { policy = "write" }`)
	s, err := openWith(cs, t, token)
	require.NoError(t, err)
	require.NoError(t, createNamed(s, "one"))

	mgmt := cs.Client(t)
	toks, _, err := mgmt.ACL().TokenList(nil)
	require.NoError(t, err)
	for _, tk := range toks {
		if tk.SecretID == token {
			_, err := mgmt.ACL().TokenDelete(tk.AccessorID, nil)
			require.NoError(t, err)
		}
	}
	err = createNamed(s, "two")
	require.Error(t, err)
	var denied *consulstore.ErrDenied
	var unknown *consulstore.ErrOutcomeUnknown
	assert.False(t, errors.As(err, &unknown), "told as an unknown outcome: %v", err)
	require.True(t, errors.As(err, &denied), "not ErrDenied: %v", err)
	assert.Equal(t, http.StatusServiceUnavailable, denied.HTTPStatus())
	assert.Contains(t, err.Error(), "ACL not found")
}
