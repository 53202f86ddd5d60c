package composition

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hashing an imported document's passwords costs tens of milliseconds
// each (argon2id): a client that goes away, or a server shutting down,
// stops it between two passwords instead of waiting for hundreds.
func TestHashingAnImportsPasswordsStopsWithItsContext(t *testing.T) {
	d := &Document{}
	for i := range 1000 { // far more than can be hashed before the cancel
		d.Users = append(d.Users, &User{Username: "u" + strconv.Itoa(i), Password: "plain-" + strconv.Itoa(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.HashPasswords(ctx, nil) }()
	time.Sleep(50 * time.Millisecond) // a few hashed, most not
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "hashing the passwords")
	assert.False(t, IsPasswordHash(d.Users[len(d.Users)-1].Password), "stopped before the last")

	d = &Document{Users: []*User{{Username: "a", Password: "plain"}}}
	require.ErrorIs(t, d.HashPasswords(ctx, nil), context.Canceled, "an ended context hashes nothing")
	assert.Equal(t, "plain", d.Users[0].Password)
}

// A document's list of users may hold a null (JSON's "users": [null]): it
// is no user, and hashing passes it by rather than failing on it.
func TestHashingPassesANullUserBy(t *testing.T) {
	d := &Document{Users: []*User{nil, {Username: "a", Password: "plain"}}}
	require.NotPanics(t, func() { require.NoError(t, d.HashPasswords(context.Background(), nil)) })
	assert.True(t, IsPasswordHash(d.Users[1].Password))
}
