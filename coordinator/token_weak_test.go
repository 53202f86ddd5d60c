package coordinator

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A short configured token is warned about only where other hosts can
// reach the API; generated and long tokens never are.
func TestWeakTokensOffLoopbackOnly(t *testing.T) {
	everywhere := &net.TCPAddr{IP: net.IPv4zero, Port: 7070}
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7070}
	short, long := "secret", "k3J9xQ2mW7vR4tY8"

	assert.Equal(t, []string{"--access-token", "--agent-token"}, weakTokens(Config{AccessToken: short, AgentToken: short}, everywhere))
	assert.Equal(t, []string{"--agent-token"}, weakTokens(Config{AccessToken: long, AgentToken: short}, everywhere))
	assert.Empty(t, weakTokens(Config{AccessToken: long, AgentToken: long}, everywhere))
	assert.Empty(t, weakTokens(Config{}, everywhere), "none configured: the access token is generated")
	assert.Empty(t, weakTokens(Config{AccessToken: short, AgentToken: short}, loopback), "only this host can guess")
}
