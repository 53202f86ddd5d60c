package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Fixed windows of one key with different windows ("2 a minute" and "100
// an hour") count apart, as APIcast's keys, which start with the window's
// start, do: each limits, rather than starting the other's window over.
func TestFixedWindowsOfOneKeyCountApart(t *testing.T) {
	now := time.Unix(1_800_000_000+20*60, 0) // 20 minutes into an hour
	serve := clockedRateLimit(t, `{"fixed_window_limiters":[
		{"key":{"name":"k"},"count":2,"window":60},
		{"key":{"name":"k"},"count":3,"window":3600}]}`, &now)
	var codes []int
	for range 3 {
		codes = append(codes, serve())
	}
	assert.Equal(t, []int{200, 200, 429}, codes, "2 a minute")
	now = now.Add(time.Minute)
	codes = codes[:0]
	for range 2 {
		codes = append(codes, serve())
	}
	assert.Equal(t, []int{200, 429}, codes, "the next minute: 3 an hour")
}
