package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry/client"
)

// Home always serves the registration, so a 404 to one says the address
// is not home's agent API: not "register again", but check the address.
func TestRegisterAnswered404SaysCheckTheAddress(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c := newClient(t, client.Config{Address: srv.URL + "/wrong-prefix", Token: token, Timeout: 5 * time.Second})
	_, err := c.Register(context.Background(), "news-1", registration("news"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, client.ErrUnknownInstance)
	assert.Equal(t, http.StatusNotFound, client.StatusCode(err))
	assert.Contains(t, err.Error(), "check home's address")
}
