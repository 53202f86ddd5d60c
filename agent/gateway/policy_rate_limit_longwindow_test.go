package gateway

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fixed_window_limiters: "Can make up to `count` requests per `window`
// seconds"; the schema sets no upper bound on window. A window longer than
// a time.Duration holds (here 634 years) must still limit, not overflow into
// one that has already ended and whose count starts over.
func TestRateLimitLongWindowStillLimits(t *testing.T) {
	cg := startChainGateway(t, rateLimitChain(`{"fixed_window_limiters":[
		{"key":{"name":"g","scope":"service"},"count":2,"window":20000000000}]}`))
	target := cg.base + "/?user_key=" + cg.key
	assert.Equal(t, []int{200, 200, 429}, statuses(t, 3, target, nil))
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, []int{429}, statuses(t, 1, target, nil), "the window has not ended")
}
