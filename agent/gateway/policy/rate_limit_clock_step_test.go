package policy

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// clockedRateLimit builds a rate_limit chain of conf whose clock reads
// *now, and returns a function serving one request through it, its status.
func clockedRateLimit(t *testing.T, conf string, now *time.Time) func() int {
	t.Helper()
	env := &Env{ServiceID: 7, Log: zerolog.Nop(), Metrics: NewMetrics(prometheus.NewRegistry()), Shared: &Shared{},
		Now: func() time.Time { return *now }}
	c, err := Build([]composition.PolicyConfig{policyConfig("rate_limit", conf)}, nil, env)
	require.NoError(t, err)
	return func() int {
		w := httptest.NewRecorder()
		var ctx Context
		c.Acquire(&ctx, w, httptest.NewRequest("GET", "/", nil))
		c.Serve(&ctx, ForwarderFunc(func(ctx *Context) { ctx.W.WriteHeader(200) }))
		return w.Code
	}
}

// A fixed window is placed by the wall clock (its start is a multiple of
// the window), and the wall clock steps: NTP corrects a drifting clock, a
// Raspberry Pi without an RTC is stepped once NTP answers. A step back
// across the window's start put the counter into the window before, which
// it started over at zero, and the step's length later into the window it
// had left, at zero again: one step of 40 s gave a client of "2 a minute"
// 6 requests in that minute. Time going backward must give no credit.
// Oracle: nginx's limit_req (ngx_http_limit_req_module.c,
// ngx_http_limit_req_lookup: "if (ms < -60000) { ms = 1; } else if (ms <
// 0) { ms = 0; }"): a clock gone back leaks nothing.
func TestFixedWindowGivesNoCreditForAClockSteppedBack(t *testing.T) {
	now := time.Unix(1_800_000_000+30, 0) // 30 s into a minute
	serve := clockedRateLimit(t, `{"fixed_window_limiters":[
		{"key":{"name":"k"},"count":2,"window":60}]}`, &now)
	var codes []int
	for range 3 {
		codes = append(codes, serve())
	}
	require.Equal(t, []int{200, 200, 429}, codes, "2 a minute")

	now = now.Add(-40 * time.Second) // NTP steps the clock back, into the minute before
	codes = codes[:0]
	for range 2 {
		codes = append(codes, serve())
	}
	assert.Equal(t, []int{429, 429}, codes, "the step back reopens no window")

	now = now.Add(15 * time.Second) // the clock reaches the minute it had left again
	assert.Equal(t, 429, serve(), "that minute's 2 are spent")

	now = now.Add(60 * time.Second) // the next minute
	assert.Equal(t, 200, serve(), "a new window counts from zero")
}

// A clock stepped back by more than a window (a VM's clock corrected by
// hours) is a new clock: the fixed window counts from its own window rather
// than blocking the client until the clock is back where it was. Oracle:
// nginx's limit_req takes a step back of over a minute as 1 ms of progress
// ("if (ms < -60000) { ms = 1; }"), never as time to wait.
func TestFixedWindowDoesNotBlockForALongClockStepBack(t *testing.T) {
	now := time.Unix(1_800_000_000+30, 0)
	serve := clockedRateLimit(t, `{"fixed_window_limiters":[
		{"key":{"name":"k"},"count":1,"window":60}]}`, &now)
	require.Equal(t, 200, serve())
	require.Equal(t, 429, serve())
	now = now.Add(-2 * time.Hour)
	assert.Equal(t, 200, serve(), "a window of the new clock")
	assert.Equal(t, 429, serve(), "and its limit")
}
