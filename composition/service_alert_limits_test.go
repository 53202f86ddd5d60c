package composition

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServiceAlertLimitsTakeApisonatorsValuesAscendingOnce(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc := &Service{Name: "S"}
	require.NoError(t, tx.Create(svc))
	assert.Empty(t, svc.AlertLimits, "none by default, as in 3scale")
	for _, bad := range [][]int{{0}, {60}, {50, 50}, {100, 50}, {400}} {
		n := *svc
		n.AlertLimits = bad
		var v *ValidationError
		require.True(t, errors.As(tx.Update(&n), &v), "%v", bad)
		assert.Contains(t, v.Fields, "alert_limits", "%v", bad)
	}
	n := *svc
	n.AlertLimits = AlertLimitValues
	require.NoError(t, tx.Update(&n))
}
