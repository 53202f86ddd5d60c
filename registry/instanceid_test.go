package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// "." and ".." are refused as instance ids: URLs resolve them away, so the
// agent API could never name the instance (its heartbeat would go to
// another path).
func TestDotSegmentInstanceIDsAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{".", ".."} {
		_, err := f.r.Register(id, reg("news"))
		var fe *composition.FieldError
		require.ErrorAs(t, err, &fe, "id %q", id)
		assert.Equal(t, "id", fe.Field)
	}
	for _, id := range []string{"...", ".a", "a..b", "news-1.a"} {
		_, err := f.r.Register(id, reg("news"))
		assert.NoError(t, err, "id %q", id)
	}
}
