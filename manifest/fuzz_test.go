package manifest_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// FuzzDecode holds the decoder to never panic on any input, and to read
// back what it accepted, re-encoded as YAML and as JSON, as the same
// documents. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(newsYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := manifest.Decode(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			return
		}
		clearOrigins(docs)
		for _, format := range []string{"yaml", "json"} {
			var b bytes.Buffer
			require.NoError(t, manifest.Encode(&b, docs, format))
			again, err := manifest.Decode(&b, "again."+format)
			require.NoError(t, err, "%s re-encoded:\n%s", format, b.String())
			require.Equal(t, docs, clearOrigins(again), "%s re-encoded:\n%s", format, b.String())
		}
	})
}
