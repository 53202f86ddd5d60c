package console

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// APIcast's url_rewriting sets query arguments by name ({"op", "arg",
// "value"}): a gateway adding the upstream's api_key that way holds a
// secret in "value", as the headers policy does.
func TestMaskedJSONHidesURLRewritingQueryArgSecrets(t *testing.T) {
	out := maskedJSON(json.RawMessage(`{"commands":[],"query_args_commands":[` +
		`{"op":"set","arg":"api_key","value":"upstream-key-123456","value_type":"plain"},` +
		`{"op":"add","arg":"access_token","value":"upstream-token-654321"},` +
		`{"op":"set","arg":"lang","value":"en-GB"}]}`))
	assert.NotContains(t, out, "upstream-key-123456", out)
	assert.NotContains(t, out, "upstream-token-654321", out)
	assert.Contains(t, out, "en-GB", "a harmless argument stays visible")
}

// A backend, routing or upstream URL may carry its upstream's key in the
// query string: its value is hidden, the rest shown as written.
func TestRedactURLHidesSecretQueryParameters(t *testing.T) {
	for in, want := range map[string]string{
		"https://upstream.example/v1?api_key=upstream-key-123456&lang=en":  "https://upstream.example/v1?api_key=xxxxx&lang=en",
		"https://upstream.example/v1?lang=en&Access%5FToken=t0k3n&x":       "https://upstream.example/v1?lang=en&Access%5FToken=xxxxx&x",
		"https://id:secret@idp.example/realm?client_secret=s3cr3t&scope=a": "https://id:xxxxx@idp.example/realm?client_secret=xxxxx&scope=a",
		"https://idp.example/realm?email=ops@example.com":                  "https://idp.example/realm?email=ops@example.com",
		"https://{{host}}/path?user_key={{ headers['X-Key'] }}&page={{p}}": "https://{{host}}/path?user_key=xxxxx&page={{p}}",
		"https://upstream.example/v1":                                      "https://upstream.example/v1",
		"https://client:pa?ss@idp.example/auth/realms/r":                   "https://client:xxxxx@idp.example/auth/realms/r",
		"https://client:s3cr#t@idp.example":                                "https://client:xxxxx@idp.example",
		"https://id@idp.example/realm":                                     "https://id@idp.example/realm",
		"not a url?api_key=1":                                              "not a url?api_key=1",
	} {
		assert.Equal(t, want, redactURL(in), in)
	}
}
