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
