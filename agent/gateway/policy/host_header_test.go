package policy

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Host is a request header, as nginx has it (ngx.req.get_headers,
// $http_host), though Go keeps it apart: Liquid's headers['Host'], a
// routing operation on the Host header and the logging policy's http_host
// and req.headers['Host'] read it.
func TestHostHeaderIsARequestHeader(t *testing.T) {
	r := httptest.NewRequest("GET", "http://api.example.com:8080/x", nil)
	env := edgeTestEnv()
	c := &Context{R: r, state: make([]any, 1)}
	assert.Equal(t, "api.example.com:8080", c.Lookup(env, []string{"headers", "host"}))

	p, err := newRouting(json.RawMessage(`{"rules":[{"url":"http://127.0.0.1:9","condition":{"operations":[
		{"match":"header","header_name":"host","op":"==","value":"api.example.com:8080"}]}}]}`), env)
	require.NoError(t, err)
	p.(*routing).Access(c)
	assert.NotNil(t, c.Upstream, "routed on the Host header")

	lp, err := newLogging(json.RawMessage(`{"custom_logging":"{{http_host}}"}`), env)
	require.NoError(t, err)
	l := lp.(*loggingPolicy)
	assert.Equal(t, "api.example.com:8080", l.lookup(c, env, []string{"http_host"}))
	assert.Equal(t, "api.example.com:8080", l.lookup(c, env, []string{"req", "headers", "Host"}))
	assert.Equal(t, "api.example.com:8080", c.LiquidContext(env)["headers"].(map[string]string)["Host"])
}
