package agent

import (
	"bytes"
	"context"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// New warns of an ACL token sent to Consul in clear off loopback; it
// connects to nothing (Run does), so no test traffic leaves the machine.
func TestAgentWarnsOfAConsulTokenInClearOffLoopback(t *testing.T) {
	t.Setenv("CONSUL_HTTP_TOKEN", "")
	t.Setenv("CONSUL_HTTP_SSL", "")
	newWith := func(consul, token string) string {
		var logs bytes.Buffer
		_, err := New(context.Background(), Config{Command: []string{"true"}, Service: "news", Address: "127.0.0.1", CacheDir: t.TempDir(),
			Consul: consul, ConsulToken: token, Logger: zerolog.New(&logs)})
		require.NoError(t, err)
		return logs.String()
	}
	assert.Contains(t, newWith("http://consul.example:8500", "s3cret-token"), "crosses the network in clear",
		"no warning of the token going to consul.example over plain http")
	assert.NotContains(t, newWith("http://consul.example:8500", "s3cret-token"), "s3cret-token", "the warning shows the token")
	for _, quiet := range []struct{ consul, token string }{
		{"http://127.0.0.1:8500", "t"}, {"https://consul.example:8501", "t"}, {"http://consul.example:8500", ""},
	} {
		assert.NotContains(t, newWith(quiet.consul, quiet.token), "in clear", "%s with token %q", quiet.consul, quiet.token)
	}
}
