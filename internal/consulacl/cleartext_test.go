package consulacl

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClearTextIsPlainHTTPOffLoopbackWithAToken(t *testing.T) {
	for _, env := range []string{"CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_HTTP_AUTH", "CONSUL_HTTP_SSL", "CONSUL_HTTP_ADDR"} {
		t.Setenv(env, "")
	}
	for _, c := range []struct {
		address, token string
		want           bool
	}{
		{"http://consul-server.consul.svc:8500", "t", true},
		{"consul:8500", "t", true},                 // no scheme: http
		{"http://10.1.2.3:8500/consul", "t", true}, // a path prefix
		{"http://[2001:db8::1]:8500", "t", true},
		{"http://consul-server.consul.svc:8500", "", false}, // no token: nothing secret crosses
		{"https://consul-server.consul.svc:8501", "t", false},
		{"unix:///var/run/consul.sock", "t", false},
		{"http://127.0.0.1:8500", "t", false},
		{"http://localhost:8500", "t", false},
		{"http://[::1]:8500", "t", false},
		{"127.0.0.1:8500", "t", false},
	} {
		assert.Equal(t, c.want, ClearText(c.address, c.token), "ClearText(%q, token %q)", c.address, c.token)
	}
}

func TestClearTextReadsConsulsEnvironmentAsItsClientDoes(t *testing.T) {
	for _, env := range []string{"CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_HTTP_AUTH", "CONSUL_HTTP_SSL", "CONSUL_HTTP_ADDR"} {
		t.Setenv(env, "")
	}
	t.Setenv("CONSUL_HTTP_TOKEN", "from-env") // api.NewClient's fallback for an empty token
	assert.True(t, ClearText("http://consul:8500", ""), "the environment's token crosses in clear")
	t.Setenv("CONSUL_HTTP_SSL", "true") // NewClient keeps an http:// address on TLS
	assert.False(t, ClearText("http://consul:8500", "t"))
	assert.False(t, ClearText("consul:8500", "t"))
}
