package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

func TestDesiredRoundTripsAnExport(t *testing.T) {
	c := buildComposition(t)
	for _, secrets := range []bool{false, true} {
		opts := manifest.ExportOptions{IncludeSecrets: secrets}
		docs := manifest.Export(c, opts)
		desired, err := manifest.Desired(docs, c)
		require.NoError(t, err)
		assert.Equal(t, docs, manifest.Export(desired, opts), "secrets %v", secrets)
	}
}
