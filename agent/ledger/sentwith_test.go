package ledger

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// A batch sent with more join tokens than home takes keeps the first, the
// token it was cut and most likely applied under, and the newest: those in
// between go. Dropping the first instead would let the batch count again
// in the space it was applied in.
func TestSentWithKeepsTheTokenTheBatchWasCutUnder(t *testing.T) {
	var l Ledger
	sb := &spoolBatch{}
	for i := range registry.MaxSentWith + 2 {
		l.SendsWith(fmt.Sprintf("%08x", i))
		require.NoError(t, l.markSentWith(sb))
	}
	got := sb.batch.SentWith
	require.Len(t, got, registry.MaxSentWith)
	assert.Equal(t, "", got[0], "a batch cut without SentWith names the bootstrap space first")
	assert.Equal(t, fmt.Sprintf("%08x", registry.MaxSentWith+1), got[len(got)-1], "the token it is sent with now")

	sb = &spoolBatch{batch: registry.UsageBatch{SentWith: []string{"0000cafe"}}}
	for i := range registry.MaxSentWith + 2 {
		l.SendsWith(fmt.Sprintf("%08x", i))
		require.NoError(t, l.markSentWith(sb))
	}
	assert.Equal(t, "0000cafe", sb.batch.SentWith[0], "the token it was cut under is kept")
	assert.Len(t, sb.batch.SentWith, registry.MaxSentWith)
}
