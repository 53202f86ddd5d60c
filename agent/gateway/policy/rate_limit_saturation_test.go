package policy

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A connection limiter's bounds saturate rather than wrap: a burst of
// MaxInt64 ("no bound") admits connections instead of refusing every one,
// and a delay past what a request may wait is that most, never negative.
func TestConnectionLimitBoundsSaturate(t *testing.T) {
	one, unbounded, delay := int64(1), int64(math.MaxInt64), 1e9
	l, err := buildLimiter("connection_limiters[0]", rlConnections,
		rlLimiterConfig{Key: &rlKeyConfig{Name: new(string)}, Conn: &one, Burst: &unbounded, Delay: &delay}, edgeTestEnv(), false)
	require.NoError(t, err)
	now := time.Now()
	d, err := l.incoming("k", now)
	require.NoError(t, err, "the first connection, within conn")
	assert.Zero(t, d)
	for i := 2; i <= 20; i++ {
		d, err = l.incoming("k", now)
		require.NoError(t, err, "connection %d, within the burst", i)
		assert.Equal(t, maxRateLimitDelay, d, "connection %d waits the most a request may", i)
	}
}
