package agent

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
)

// Without --consul, CONSUL_HTTP_TOKEN is the app's own: it reaches CMD
// although --consul-token read it; with --consul it is the agent's.
func TestAppKeepsItsConsulTokenWithoutConsul(t *testing.T) {
	const appToken = "the-apps-own-consul-token"
	environ := []string{"CONSUL_HTTP_TOKEN=" + appToken, "APP_CONSUL=" + appToken, "PATH=/bin"}
	a := &Agent{cfg: Config{Consul: "", ConsulToken: appToken}, log: zerolog.Nop()}
	assert.Equal(t, environ, a.commandEnv(environ), "without --consul the app keeps its CONSUL_HTTP_TOKEN")

	a.cfg.Consul = "http://127.0.0.1:8500"
	assert.Equal(t, []string{"PATH=/bin"}, a.commandEnv(environ), "with --consul the Consul token is the agent's")
}
