package coordinator_test

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/coordinator"
)

// A join token given as --agent-token could never match (a presented ptj1.
// token is looked up among the join tokens home made): it is refused at
// start, saying how join tokens are made.
func TestAgentTokenIsNotAJoinToken(t *testing.T) {
	_, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: "admin", Logger: zerolog.Nop(),
		AgentToken: "ptj1.0123abcd.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	})
	assert.ErrorContains(t, err, "portolan token create")
}
