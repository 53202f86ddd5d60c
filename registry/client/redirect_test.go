package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// A redirect is not followed: a client of an https:// home never sends
// its credential over plain http, nor anywhere but home. The error names
// where the redirect pointed and keeps home's status.
func TestRedirectIsNotFollowed(t *testing.T) {
	var calls atomic.Int64
	var leaked atomic.Value
	leaked.Store("")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		leaked.Store(r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(`{"revision":1}`))
	}))
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(secure.Close)
	c := newClient(t, client.Config{Address: secure.URL, Token: token, Timeout: 5 * time.Second, Transport: secure.Client().Transport})
	c.SetCredential("instance-secret")

	_, err := c.Heartbeat(context.Background(), "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.Error(t, err)
	assert.Zero(t, calls.Load(), "the redirect was followed; its target got %q", leaked.Load())
	assert.Equal(t, http.StatusTemporaryRedirect, client.StatusCode(err))
	assert.Contains(t, err.Error(), plain.URL+registry.HeartbeatPath("news-1"))
	assert.Contains(t, err.Error(), "give home's own address")

	_, _, err = c.Map(context.Background(), 1, time.Second, "")
	require.Error(t, err, "a blocking read follows no redirect either")
	assert.Zero(t, calls.Load())
}
