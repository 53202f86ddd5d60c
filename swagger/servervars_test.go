package swagger

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OpenAPI substitutes a server URL's variables once, by their defaults; a
// default that names a variable is not expanded again. Expanding it again
// let variables that each default to the next one twice double the base
// path per variable: an 861-byte spec of 22 made a 20 MB base path, one of
// 32 exhausts memory.
func TestServerVariableDefaultsExpandOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {}}}\n")
	b.WriteString("servers:\n  - url: 'https://{host}/{base}/{v0}'\n    variables:\n")
	b.WriteString("      host: {default: api.example.com}\n      base: {default: api}\n")
	for i := range 24 {
		fmt.Fprintf(&b, "      v%d: {default: '{v%d}{v%d}'}\n", i, i+1, i+1)
	}
	s, err := Parse([]byte(b.String()), nil)
	require.NoError(t, err)
	require.Less(t, len(s.BasePath()), 1<<10, "the base path grew with the defaults")
	assert.Equal(t, "/api/{v1}{v1}", s.BasePath())

	// Defaults that would make the URL longer than any path are refused,
	// naming the URL.
	b.Reset()
	b.WriteString("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {}}}\n")
	b.WriteString("servers:\n  - url: 'https://h/" + strings.Repeat("{v}", 1000) + "'\n")
	b.WriteString("    variables: {v: {default: '" + strings.Repeat("x", 100000) + "'}}\n")
	_, err = Parse([]byte(b.String()), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "servers[0].url")
}
