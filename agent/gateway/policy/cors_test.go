package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// allow_origin: "'*'" or one origin ("https://example.com") is sent as it
// is; anything else is a regular expression, as APIcast decides it by
// whether the value parses as a URL.
func TestCORSOriginIsPattern(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "*": false, "https://example.com": false, "http://api.test.com:8080": false, "null:x": false,
		"(api|web).test.com": true, "example.com": true, "https://": true,
		`https://(a|b)\.example\.com`: true, // no valid host: a pattern (APIcast would send it as it is)
	} {
		assert.Equal(t, want, corsOriginIsPattern(s), s)
	}
}
