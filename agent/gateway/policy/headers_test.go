package policy

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// APIcast's headers test "set a header with a liquid value from the JWT":
// {"op":"set","header":"Token-aud","value":"{{ jwt.aud }}","value_type":"liquid"}
// sends the token's audience upstream. The claims come from the OpenID
// Connect element (Context.JWT); a nested claim and a claim with a line
// break (which must not split the head) are rendered too.
func TestHeadersLiquidJWTClaims(t *testing.T) {
	p, err := newHeaders(json.RawMessage(`{"request":[
		{"op":"set","header":"Token-aud","value":"{{ jwt.aud }}","value_type":"liquid"},
		{"op":"push","header":"X-Role","value":"{{ jwt.realm_access.roles[0] }}","value_type":"liquid"},
		{"op":"set","header":"X-Note","value":"{{ jwt.note }}","value_type":"liquid"},
		{"op":"set","header":"Host","value":"internal.example","value_type":"plain"}],
		"response":[{"op":"set","header":"X-Sub","value":"sub={{jwt.sub}}","value_type":"liquid"}]}`), &Env{})
	require.NoError(t, err)
	h := p.(*headersPolicy)
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	c := &Context{W: w, R: r, JWT: map[string]any{"aud": "the_token_audience", "sub": "someone", "note": "two\r\nlines",
		"realm_access": map[string]any{"roles": []any{"reader"}}}}
	h.Rewrite(c)
	assert.Equal(t, "the_token_audience", r.Header.Get("Token-Aud"))
	assert.Equal(t, []string{"reader"}, r.Header.Values("X-Role"))
	assert.Equal(t, "two  lines", r.Header.Get("X-Note"))
	assert.Equal(t, "internal.example", r.Host, "Host is the request's host, not a header map entry")
	h.HeaderFilter(c)
	assert.Equal(t, "sub=someone", w.Header().Get("X-Sub"))

	c.JWT = nil
	r.Header.Del("Token-Aud")
	h.Rewrite(c)
	assert.Empty(t, r.Header.Values("Token-Aud"), "no token: set with an empty value deletes")
}

// A Liquid value's own text is checked as a plain value is: a control byte
// in it would be in every request's or response's head, which no server
// takes, so the chain is refused naming the field instead.
func TestHeadersLiquidValueTextChecked(t *testing.T) {
	for _, v := range []string{`a\u0001{{host}}`, `{{host}}\r\nX-Injected: 1`, `\u007f{{host}}`} {
		_, err := newHeaders(json.RawMessage(`{"response":[{"op":"set","header":"X-A","value":"`+v+`","value_type":"liquid"}]}`), edgeTestEnv())
		var fe *FieldError
		if assert.ErrorAs(t, err, &fe, v) {
			assert.Equal(t, "response[0].value", fe.Field, v)
		}
	}
	_, err := newHeaders(json.RawMessage(`{"response":[{"op":"set","header":"X-A","value":"a\t{{host}}","value_type":"liquid"}]}`), edgeTestEnv())
	assert.NoError(t, err, "a tab is a header value's")
}
