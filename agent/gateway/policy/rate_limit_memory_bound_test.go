package policy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Clients choosing their rate_limit keys (a header, here 120 bytes, each
// request another value) cannot make the counters outgrow rlMaxBytes per
// kind: the three kinds together grow the heap by ~11 MB, within 4×rlMaxBytes
// (16 MiB, room for the runtime's own noise), where they grew it by 25 MB
// before (and 100,000 keys of each kind cost 87 MB, more than a 64 MiB
// agent has).
// Oracle: APIcast keeps all its limiters' counters in one fixed-size
// shared dict, "lua_shared_dict limiter 1m;"
// (3scale/APIcast gateway/http.d/shdict.conf), evicting the least recently
// used when full.
func TestRateLimitCountersStayWithinTheirMemory(t *testing.T) {
	key := `{"key":{"name":"{{ headers['X-Client'] }}","name_type":"liquid"}`
	c, _ := rateLimitForTest(t, `{
		"fixed_window_limiters":[`+key+`,"count":1000,"window":60}],
		"leaky_bucket_limiters":[`+key+`,"rate":1000,"burst":1000}],
		"connection_limiters":[`+key+`,"conn":1000,"burst":0,"delay":1}]}`)
	pad := strings.Repeat("k", 112)
	// Enough distinct keys to pass each kind's byte budget twice over.
	n := int(2 * rlMaxBytes / (len(pad) + 8 + rlEntryOverhead))
	before := heapInUse()
	for i := range n {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Client", fmt.Sprintf("%s%08d", pad, i))
		var ctx Context
		c.Acquire(&ctx, httptest.NewRecorder(), r)
		c.Serve(&ctx, ForwarderFunc(func(ctx *Context) { ctx.W.WriteHeader(http.StatusOK) }))
	}
	grew := heapInUse() - before
	t.Logf("%d distinct keys: counters of the three kinds hold %d bytes (%d per key and kind)", n, grew, grew/int64(3*n))
	assert.LessOrEqual(t, grew, int64(4*rlMaxBytes), "the counters outgrew their budget")
	runtime.KeepAlive(c)
}
