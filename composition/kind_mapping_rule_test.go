package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rule created without a position (by apply or an import) goes after its
// owner's last rule, as its doc says, even when positions have gaps: not at
// the count of rules, which would put it among them.
func TestRuleWithoutAPositionGoesLast(t *testing.T) {
	h := newTestHead()
	mustUpdate(t, h, func(tx *Tx) error {
		svc, hits := createService(t, tx, "Shop", "1")
		rule := func(pattern string, pos int64) *MappingRule {
			r := &MappingRule{OwnerType: OwnerService, OwnerID: svc.ID, MetricID: hits.ID, HTTPMethod: "GET",
				Pattern: pattern, Delta: 1, Position: pos}
			require.NoError(t, tx.Create(r))
			return r
		}
		rule("/a", 1)
		rule("/b", 7)
		assert.Equal(t, int64(8), rule("/c", 0).Position, "after the last rule, at 7")
		return nil
	})
}
