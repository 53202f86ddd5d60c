package manifest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A JSON source escapes a character beyond the Basic Multilingual Plane as
// a UTF-16 surrogate pair, as RFC 8259, section 7, says: "To escape an
// extended character that is not in the Basic Multilingual Plane, the
// character is represented as a 12-character sequence, encoding the UTF-16
// surrogate pair ... "\uD834\uDD1E"". Python's json.dumps writes every one
// so by default (ensure_ascii). FORMAT.md reads JSON "as the YAML it is":
// the pair is the one character, as encoding/json reads it, and a lone
// half is U+FFFD, as encoding/json makes it. An escaped backslash before
// "u" is no escape, and a YAML source keeps YAML's rules.
func TestDecodeReadsJSONSurrogatePairs(t *testing.T) {
	const object = `{"apiVersion": "portolan.dev/v1", "kind": "Backend", "system_name": "news", "name": "News \ud83d\udcf0", ` +
		`"description": "lone \ud83d, escaped \\ud83d\\udcf0, G clef \uD834\uDD1E", "private_endpoint": "http://news"}`
	for name, src := range map[string]string{
		"an object":                  object,
		"an array":                   "[\n" + object + "\n]",
		"an object after a BOM":      "\xef\xbb\xbf" + object,
		"an array over two lines":    "[{\"apiVersion\": \"portolan.dev/v1\", \"kind\": \"Placement\", \"name\": \"p\", \"selector\": {\"service\": \"s\"}, \"service\": \"s\"},\n" + object + "]",
		"in a list of two documents": "[" + object + "," + strings.Replace(object, `"news"`, `"other"`, 1) + "]",
	} {
		t.Run(name, func(t *testing.T) {
			docs, err := Decode(strings.NewReader(src), "python.json")
			require.NoError(t, err, "valid JSON (RFC 8259 surrogate pairs) must be read")
			b := docs[len(docs)-1].Backend
			if b.SystemName == "other" {
				b = docs[len(docs)-2].Backend
			}
			require.NotNil(t, b)
			assert.Equal(t, "News \U0001F4F0", b.Name, "the pair is one character")
			assert.Equal(t, "lone \uFFFD, escaped \\ud83d\\udcf0, G clef \U0001D11E", b.Description,
				"a lone half is U+FFFD, an escaped backslash no escape")
		})
	}

	// Errors in a JSON source still name their line.
	_, err := Decode(strings.NewReader("[\n{\"apiVersion\": \"portolan.dev/v1\", \"kind\": \"Backend\", \"name\": \"\\ud83d\\udcf0\"}\n]"), "lines.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `lines.json:2: document 1 (Backend): system_name: is required`)

	// A policy's configuration is kept as the JSON it means.
	svc := `{"apiVersion": "portolan.dev/v1", "kind": "Service", "system_name": "s", "name": "S", "proxy": {"policy_chain": ` +
		`[{"name": "headers", "version": "builtin", "configuration": {"text": "\ud83d\udcf0"}}]}}`
	docs, err := Decode(strings.NewReader(svc), "policy.json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"text": "\ud83d\udcf0"}`, string(docs[0].Service.Proxy.PolicyChain[0].Configuration))
}
