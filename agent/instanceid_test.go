package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestNewIDsAreBoundedPerMinute: an agent whose every new id is taken (a
// squatter racing it, or a home answering 409 to everything) draws at most
// maxNewIDsPerMinute ids in any minute, and is told how long to wait
// before the next, never looping on registrations.
func TestNewIDsAreBoundedPerMinute(t *testing.T) {
	var d idDraws
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxNewIDsPerMinute {
		ok, wait := d.next(t0.Add(time.Duration(i) * time.Second))
		assert.True(t, ok, "draw %d", i+1)
		assert.Zero(t, wait)
	}
	ok, wait := d.next(t0.Add(10 * time.Second))
	assert.False(t, ok, "one more within the minute")
	assert.Equal(t, 50*time.Second, wait, "until the first draw leaves the window")
	ok, _ = d.next(t0.Add(59 * time.Second))
	assert.False(t, ok)
	ok, _ = d.next(t0.Add(time.Minute))
	assert.True(t, ok, "once the first leaves the window")
	ok, wait = d.next(t0.Add(time.Minute))
	assert.False(t, ok)
	assert.Equal(t, time.Second, wait)
	assert.Len(t, d.at, maxNewIDsPerMinute, "bounded")
}

// TestNewIDHasTheIncarnationsForm: a new id is drawn as the first was:
// service, hostname, a random suffix, within the registry's limits.
func TestNewIDHasTheIncarnationsForm(t *testing.T) {
	a, b := instanceID("news", "host/1"), instanceID("news", "host/1")
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^news-host_1-[0-9a-f]{8}$`, a)
}
