package threescale

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/portolan/portolan/composition"
)

// Default caps on what the composition may hold.
const (
	DefaultMaxApplications = 100_000
	DefaultMaxPlacements   = 1_000
	// The webhook outbox and failures: 10,000 each, about a week of
	// failures at one a minute (a receiver down, 5 tries 60 s apart).
	DefaultMaxWebhookEvents   = 10_000
	DefaultMaxWebhookFailures = 10_000
)

// Caps bound how many entities of a kind the composition may hold, so one
// admin token (or a runaway script) cannot grow the composition, and with it
// every agent's copy, without end. Zero fields take the defaults; a negative
// one lifts the cap. The webhook bounds are never lifted (a negative one
// takes the default too): they are not refused writes but a full outbox
// and the oldest failures giving way (see withWebhooks), and both tables
// travel in every revision.
type Caps struct {
	Applications    int // --max-applications
	Placements      int // --max-placements
	WebhookEvents   int // --max-webhook-events: undelivered events in the outbox
	WebhookFailures int // --max-webhook-failures: failed deliveries kept
}

func (c Caps) withDefaults() Caps {
	if c.Applications == 0 {
		c.Applications = DefaultMaxApplications
	}
	if c.Placements == 0 {
		c.Placements = DefaultMaxPlacements
	}
	if c.WebhookEvents <= 0 {
		c.WebhookEvents = DefaultMaxWebhookEvents
	}
	if c.WebhookFailures <= 0 {
		c.WebhookFailures = DefaultMaxWebhookFailures
	}
	return c
}

// capped is one cap: the kind it counts, its flag and its limit; for the
// webhook kinds, what giving way to it cost (see WebhookDrops).
type capped struct {
	kind  composition.Kind
	flag  string
	limit int
	count func(*composition.Composition) int
	given *saturating // nil but for the webhook kinds
}

func (c Caps) list() []capped {
	c = c.withDefaults()
	return []capped{
		{composition.KindApplication, "--max-applications", c.Applications, func(s *composition.Composition) int { return s.Applications.Len() }, nil},
		{composition.KindPlacement, "--max-placements", c.Placements, func(s *composition.Composition) int { return s.Placements.Len() }, nil},
		// An import beyond these is refused; the API's own writes and the
		// delivery keep within them (composition.Tx.QueueWebHookEvent).
		{composition.KindWebHookEvent, "--max-webhook-events", c.WebhookEvents,
			func(s *composition.Composition) int { return s.WebHookEvents.Len() }, new(saturating)},
		{composition.KindWebHookFailure, "--max-webhook-failures", c.WebhookFailures,
			func(s *composition.Composition) int { return s.WebHookFailures.Len() }, new(saturating)},
	}
}

// saturating is a counter that stops at its maximum instead of wrapping.
type saturating struct{ n atomic.Uint64 }

func (s *saturating) add(d uint64) {
	for {
		old := s.n.Load()
		next := old + d
		if next < old {
			next = math.MaxUint64
		}
		if s.n.CompareAndSwap(old, next) {
			return
		}
	}
}

func (s *saturating) load() uint64 {
	if s == nil {
		return 0
	}
	return s.n.Load()
}

// SetCaps sets the caps every write of the API is held to; call it before
// the API serves.
func (a *API) SetCaps(c Caps) { a.caps = c.list() }

// withCaps wraps a write so that it fails, as a whole, when it leaves a
// capped kind over its cap and larger than it found it. Counting around the
// write, in the same transaction, covers every path that creates (a create,
// a signup's applications) and still lets a composition already over a
// lowered cap shrink or change.
func (a *API) withCaps(fn func(*composition.Tx) error) func(*composition.Tx) error {
	caps := a.caps
	if caps == nil {
		caps = Caps{}.list()
	}
	return func(tx *composition.Tx) error {
		before := make([]int, len(caps))
		for i, c := range caps {
			before[i] = c.count(tx.View())
		}
		if err := fn(tx); err != nil {
			return err
		}
		for i, c := range caps {
			if c.limit < 0 {
				continue
			}
			if n := c.count(tx.View()); n > c.limit && n > before[i] {
				return &composition.FieldError{Field: "base", Message: fmt.Sprintf(
					"the composition may hold at most %d %s (%s): delete some or raise the cap", c.limit, c.kind, c.flag)}
			}
		}
		return nil
	}
}

// CheckWrite wraps a write that does not go through the 3scale API's
// handlers (apply, an image's documents, an import) in the checks every
// write of the composition is held to: the caps and the policy chains'
// schemas. Without it those paths could grow the composition past
// --max-applications or --max-placements.
func (a *API) CheckWrite(fn func(*composition.Tx) error) func(*composition.Tx) error {
	return a.withCaps(a.CheckPolicyChains(fn))
}
