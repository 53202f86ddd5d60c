package agent

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Only a refused registration sets home_refused: a refused heartbeat
// refused the instance credential, not the join token; either keeps home
// reachable.
func TestOnlyARefusedRegistrationSetsHomeRefused(t *testing.T) {
	refused := &client.StatusError{Method: http.MethodPut, Path: "/v1/instances/news-1", Code: http.StatusUnauthorized, Status: "401 Unauthorized"}
	s := newState("news-1", registry.Registration{Service: "news"})

	s.contact(callHeartbeat, fmt.Errorf("heartbeat: %w", refused))
	self := s.self()
	assert.False(t, self.HomeRefused, "a refused heartbeat is the credential's, not the join token's")
	assert.True(t, self.HomeReachable)

	s.contact(callRegister, fmt.Errorf("register: %w", refused))
	self = s.self()
	assert.True(t, self.HomeRefused, "a refused registration is the join token's")
	assert.True(t, self.HomeReachable)

	s.contact(callRegister, nil)
	assert.False(t, s.self().HomeRefused)
}
