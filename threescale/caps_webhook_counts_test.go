package threescale

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The counts of what the webhook bounds cost stop at their maximum instead
// of wrapping to a small number that would hide the drops.
func TestWebhookDropCountsSaturate(t *testing.T) {
	var s saturating
	s.add(math.MaxUint64 - 1)
	s.add(5)
	assert.Equal(t, uint64(math.MaxUint64), s.load())
	s.add(1)
	assert.Equal(t, uint64(math.MaxUint64), s.load())
	assert.Zero(t, (*saturating)(nil).load())
}

// The webhook bounds take their defaults for zero and for a negative value:
// unlike the other caps they cannot be lifted.
func TestWebhookBoundsCannotBeLifted(t *testing.T) {
	a := &API{}
	a.SetCaps(Caps{WebhookEvents: -1, WebhookFailures: 0, Applications: -1})
	events, failures := a.WebhookBounds()
	assert.Equal(t, DefaultMaxWebhookEvents, events)
	assert.Equal(t, DefaultMaxWebhookFailures, failures)
}
