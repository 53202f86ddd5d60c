package agent

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
)

// With --consul the agent's Consul client (consul/api's default config)
// authenticates with CONSUL_HTTP_AUTH, "user:password" for a Consul behind
// HTTP basic auth: a Consul credential of the agent's, which CMD does not
// get, as it does not get the agent's Consul token (commandEnv). Without
// --consul the variable is the app's own and stays.
func TestCommandGetsNoneOfTheAgentsConsulBasicAuth(t *testing.T) {
	environ := []string{"CONSUL_HTTP_AUTH=agent:consul-password", "PATH=/bin"}
	a := &Agent{cfg: Config{Consul: "http://127.0.0.1:8500"}, log: zerolog.Nop()}
	assert.Equal(t, []string{"PATH=/bin"}, a.commandEnv(environ), "with --consul the Consul basic auth is the agent's")

	a.cfg.Consul = ""
	assert.Equal(t, environ, a.commandEnv(environ), "without --consul the app keeps its CONSUL_HTTP_AUTH")
}
