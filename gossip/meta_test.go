package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOversizedMetaIsRejected(t *testing.T) {
	t.Parallel()
	big := Meta{Role: RoleAgent, Service: strings.Repeat("s", 300), InstanceID: strings.Repeat("i", 200), API: "10.0.0.1:7071"}
	raw, err := json.Marshal(big)
	require.NoError(t, err)
	size := fmt.Sprintf("metadata is %d bytes encoded", len(raw))

	t.Run("at start", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Name: "big", Bind: "127.0.0.1:0", Meta: big, Logger: testLogger()})
		require.Error(t, err)
		assert.Contains(t, err.Error(), size)
		assert.Contains(t, err.Error(), "limit of 512 bytes")
	})

	t.Run("at update", func(t *testing.T) {
		nodes := cluster(t, "meta", 2)
		before := nodes[0].Meta()
		err := nodes[0].UpdateMeta(big)
		require.Error(t, err)
		assert.Contains(t, err.Error(), size)
		assert.Contains(t, err.Error(), "limit of 512 bytes")
		assert.Equal(t, before, nodes[0].Meta(), "refused metadata is not applied")

		// Metadata just within the limit goes through and reaches the peer.
		fits := Meta{Role: RoleCoordinator, InstanceID: "meta-0", API: "127.0.0.1:7070", Revision: 42}
		b, err := encodeMeta(fits)
		require.NoError(t, err)
		fits.Service = strings.Repeat("x", MaxMetaBytes-len(b)-len(`,"s":""`))
		b, err = encodeMeta(fits)
		require.NoError(t, err)
		require.Len(t, b, MaxMetaBytes)
		require.NoError(t, nodes[0].UpdateMeta(fits))
		require.Eventually(t, func() bool {
			for _, m := range nodes[1].Members() {
				if m.Name == "meta-0" {
					return m.Meta == fits
				}
			}
			return false
		}, 5*time.Second, 20*time.Millisecond)
		require.Eventually(t, func() bool {
			for _, e := range nodes[1].seenEvents() {
				if e.Kind == Update && e.Node.Name == "meta-0" && e.Node.Meta == fits {
					return true
				}
			}
			return false
		}, 5*time.Second, 20*time.Millisecond)
	})

	t.Run("unknown role", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Name: "role", Bind: "127.0.0.1:0", Meta: Meta{Role: "home"}, Logger: testLogger()})
		require.ErrorContains(t, err, `role "home"`)
	})
}
