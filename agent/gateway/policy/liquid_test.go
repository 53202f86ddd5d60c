package policy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func liquidRequest(t *testing.T, target string) *Context {
	t.Helper()
	r := httptest.NewRequest("POST", target, nil)
	r.RemoteAddr = "192.0.2.7:5123"
	r.Host = "API.Example.com:8080"
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b")
	r.Header.Set("X-One", "one")
	return &Context{R: r, JWT: map[string]any{
		"aud": "the_token_audience", "exp": 1.7e9, "admin": true,
		"realm_access": map[string]any{"roles": []any{"reader", "writer"}},
		"my-claim":     "dashed",
	}}
}

func renderLiquid(t *testing.T, c *Context, env *Env, s string) string {
	t.Helper()
	tmpl, err := CompileTemplate("value", s, true)
	require.NoError(t, err, s)
	return tmpl.Render(c, env)
}

// The variables APIcast's Liquid context has for a request.
func TestLiquidVariables(t *testing.T) {
	c := liquidRequest(t, "/some/path?a=1&b=2")
	env := &Env{ServiceID: 42, ServiceSystemName: "news"}
	for tmpl, want := range map[string]string{
		"{{remote_addr}}":               "192.0.2.7",
		"{{ remote_port }}":             "5123",
		"{{uri}}":                       "/some/path",
		"{{path}}":                      "/some/path",
		"{{request_uri}}":               "/some/path?a=1&b=2",
		"{{host}}":                      "api.example.com",
		"{{scheme}}":                    "http",
		"{{http_method}}":               "POST",
		"{{request_method}}":            "POST",
		"{{headers['X-One']}}":          "one",
		`{{headers["x-one"]}}`:          "one",
		"{{headers['X-Multi']}}":        "a, b",
		"{{headers['Missing']}}":        "",
		"{{jwt.aud}}":                   "the_token_audience",
		"{{jwt['aud']}}":                "the_token_audience",
		"{{jwt.exp}}":                   "1700000000",
		"{{jwt.admin}}":                 "true",
		"{{jwt.realm_access.roles[1]}}": "writer",
		"{{jwt.realm_access.roles[7]}}": "",
		"{{jwt.my-claim}}":              "dashed",
		"{{jwt.missing.deeper}}":        "",
		"{{service.id}}":                "42",
		"{{service.system_name}}":       "news",
		"{{unknown}}":                   "",
		"a {{uri}} b {{host}} c":        "a /some/path b api.example.com c",
		"no variables":                  "no variables",
	} {
		assert.Equal(t, want, renderLiquid(t, c, env, tmpl), tmpl)
	}
	c.R.TLS = &tls.ConnectionState{}
	assert.Equal(t, "https", renderLiquid(t, c, env, "{{scheme}}"))
	c.JWT = nil
	assert.Equal(t, "", renderLiquid(t, c, env, "{{jwt.aud}}"), "no token: empty, as Liquid renders nil")
	assert.Equal(t, "", renderLiquid(t, c, nil, "{{service.id}}"))
}

// APIcast's Liquid context (ngx_variable.lua's context_values) holds
// "server_addr = ngx.var.server_addr, server_port = ngx.var.server_port":
// nginx's "an address of the server which accepted a request" and its port,
// the local end of the client's connection, which reaches a handler as
// http.LocalAddrContextKey. An IPv6 address is written without brackets, as
// nginx writes it; a request without a connection renders them empty.
func TestLiquidServerAddrAndPort(t *testing.T) {
	c := liquidRequest(t, "/")
	assert.Equal(t, ":", renderLiquid(t, c, nil, "{{ server_addr }}:{{ server_port }}"), "no connection")
	for addr, want := range map[net.Addr]string{
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8080}:   "192.0.2.1 8080",
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 8443}: "2001:db8::1 8443",
	} {
		c.R = c.R.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, addr))
		assert.Equal(t, want, renderLiquid(t, c, nil, "{{server_addr}} {{server_port}}"), addr.String())
		got := c.LiquidContext(nil)
		assert.Equal(t, want, fmt.Sprint(got["server_addr"], " ", got["server_port"]), "liquid_context_debug shows them")
	}
}

// The filters without arguments that APIcast's Liquid offers, on variables
// and on literals ({{ 'username:password' | encode_base64 }}, from 3scale's
// documentation), chained left to right.
func TestLiquidFilters(t *testing.T) {
	c := liquidRequest(t, "/Some%20Path")
	for tmpl, want := range map[string]string{
		"{{ 'username:password' | encode_base64 }}":        "dXNlcm5hbWU6cGFzc3dvcmQ=",
		"{{ 'dXNlcm5hbWU6cGFzc3dvcmQ=' | decode_base64 }}": "username:password",
		"{{ 'not base64!' | decode_base64 }}":              "",
		"{{ uri | escape_uri }}":                           "%2FSome%20Path",
		"{{ 'a%20b' | unescape_uri }}":                     "a b",
		"{{ uri | upcase }}":                               "/SOME PATH",
		"{{ headers['X-One'] | upcase | downcase }}":       "one",
		"{{ \"  padded \" | strip | size }}":               "6",
		"{{ 'x' | md5 }}":                                  "9dd4e461268c8034f5c8564e155c67a6",
		"{{ 'with | bar' | upcase }}":                      "WITH | BAR",
		// first and last take an array's element (porta: "If some_claim is
		// an array you can select the first value like {{ some_claim |
		// first }}"); of a text they give nil, as Liquid's do.
		"{{ jwt.realm_access.roles | first }}":         "reader",
		"{{ jwt.realm_access.roles | last | upcase }}": "WRITER",
		"{{ jwt.aud | first }}":                        "",
		"{{ jwt.none | last }}":                        "",
		"{{ uri | first }}":                            "",
		"{{ headers['X-One'] | first }}":               "",
	} {
		assert.Equal(t, want, renderLiquid(t, c, nil, tmpl), tmpl)
	}
	tmpl, err := CompileTemplate("value", "{{ 'a' | upcase }}", true)
	require.NoError(t, err)
	assert.True(t, tmpl.IsStatic(), "a literal's output is computed once")
}

// Plain values are never evaluated; IsStatic tells a template that renders
// the same for every request.
func TestLiquidPlainAndStatic(t *testing.T) {
	tmpl, err := CompileTemplate("value", "{{uri}}", false)
	require.NoError(t, err)
	assert.Equal(t, "{{uri}}", tmpl.Render(liquidRequest(t, "/x"), nil))
	assert.True(t, tmpl.IsStatic())
	tmpl, err = CompileTemplate("value", "text only", true)
	require.NoError(t, err)
	assert.True(t, tmpl.IsStatic())
	tmpl, err = CompileTemplate("value", "x{{uri}}", true)
	require.NoError(t, err)
	assert.False(t, tmpl.IsStatic())
	tmpl, err = CompileTemplate("value", "", true)
	require.NoError(t, err)
	assert.Equal(t, "", tmpl.Render(liquidRequest(t, "/x"), nil))
}

// What the gateway cannot render is refused when the chain is built, naming
// the field: tags, filters, unclosed outputs, malformed variables.
func TestLiquidCompileErrorsNameTheField(t *testing.T) {
	for _, s := range []string{
		"{% if jwt.admin %}yes{% endif %}",
		"{{ uri | truncate: 5 }}",
		"{{ uri | nosuch }}",
		"{{ uri | }}",
		"{{ uri | upcase | first }}",
		"{{ 'abc' | first }}",
		"{{ jwt['\x00first'] }}",
		"{{ 'unclosed | upcase }}",
		"{{ uri ",
		"{{ headers['X }}",
		"{{ headers[X] }}",
		"{{ .uri }}",
		"{{ uri.. }}",
		"{{}}",
	} {
		_, err := CompileTemplate("request[3].value", s, true)
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%q: %v", s, err)
		assert.Equal(t, "request[3].value", fe.Field, s)
	}
}

// LiquidContext (liquid_context_debug) shows the variables with credentials
// masked.
func TestLiquidContextMasksSecrets(t *testing.T) {
	c := liquidRequest(t, "/p?user_key=uk&app_id=ai&app_key=ak&access_token=at&q=ok")
	c.R.Header.Set("Authorization", "Bearer t")
	c.R.Header.Set("X-Api-Key", "k")
	got := c.LiquidContext(&Env{ServiceID: 1, ServiceSystemName: "s"})
	assert.Equal(t, "/p?user_key=[masked]&app_id=[masked]&app_key=[masked]&access_token=[masked]&q=ok", got["request_uri"])
	h := got["headers"].(map[string]string)
	assert.Equal(t, liquidMasked, h["Authorization"])
	assert.Equal(t, liquidMasked, h["X-Api-Key"])
	assert.Equal(t, "one", h["X-One"])
	assert.Equal(t, "192.0.2.7", got["remote_addr"])
	assert.Equal(t, c.JWT, got["jwt"])
}
