package coordinator_test

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/coordinator"
)

// Every agent holds --agent-token (an image's configuration, a pod's
// environment): the same secret as --access-token would hand every
// container home's admin token. Refused at start.
func TestAgentTokenIsNotTheAdminToken(t *testing.T) {
	_, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: zerolog.Nop(),
		AccessToken: "same-secret-0123456789", AgentToken: "same-secret-0123456789",
	})
	assert.ErrorContains(t, err, "--agent-token is --access-token")
}
