package composition

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A failure table over its bound (a bound lowered, an import larger than
// it) is brought within it by the next failure, dropping the oldest by
// time, not by id: an imported failure may be older than its id says.
func TestWebHookFailuresOverTheirBoundLoseTheOldestByTime(t *testing.T) {
	h := newTestHead()
	times := []time.Duration{3, 1, 4, 2, 5} // hours before now, in id order
	mustUpdate(t, h, func(tx *Tx) error {
		for i, ago := range times {
			if err := tx.Create(&WebHookFailure{UUID: string(rune('a' + i)), Time: testNow.Add(-ago * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	var dropped int
	s := mustUpdate(t, h, func(tx *Tx) (err error) {
		dropped, err = tx.AddWebHookFailure(&WebHookFailure{Time: testNow, Error: "new"}, 3)
		return err
	})
	assert.Equal(t, 3, dropped, "5 kept, bound 3, one more: 3 leave")
	var kept []string
	for _, f := range s.WebHookFailures.All() {
		kept = append(kept, f.UUID)
	}
	require.Len(t, kept, 3)
	assert.Equal(t, []string{"b", "d"}, kept[:2], "the two newest of the old ones stay (1h and 2h ago)")
	assert.Len(t, kept[2], 36, "the new failure gets a uuid")
}

// A full outbox does not queue an event: it becomes a failure naming since
// when the receiver has taken nothing, and the outbox is left as it was.
func TestWebHookEventPastAFullOutboxBecomesAFailure(t *testing.T) {
	h := newTestHead()
	mustUpdate(t, h, func(tx *Tx) error {
		for range 2 {
			if _, _, err := tx.QueueWebHookEvent(&WebHookEvent{Type: "account", Action: "created", XML: "<event/>"}, 2, 10); err != nil {
				return err
			}
		}
		return nil
	})
	before := h.Snapshot().WebHookEvents.All()
	var queued bool
	s := mustUpdate(t, h, func(tx *Tx) (err error) {
		queued, _, err = tx.QueueWebHookEvent(&WebHookEvent{Type: "user", Action: "deleted", URL: "http://r.example/", XML: "<event>u</event>"}, 2, 10)
		return err
	})
	assert.False(t, queued)
	assert.Equal(t, before, s.WebHookEvents.All(), "the outbox is unchanged")
	fs := s.WebHookFailures.All()
	require.Len(t, fs, 1)
	assert.Equal(t, "<event>u</event>", fs[0].Event)
	assert.Equal(t, "http://r.example/", fs[0].URL)
	assert.Contains(t, fs[0].Error, "outbox full: the receiver has not taken events for 0s (since 2025-06-01T10:00:00Z), so 2 are waiting")
	assert.Contains(t, fs[0].Error, "this user deleted event was not queued")
}
