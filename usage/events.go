package usage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portolan/portolan/composition"
)

// Event types, as apisonator names them.
const (
	EventFirstTraffic      = "first_traffic"
	EventFirstDailyTraffic = "first_daily_traffic"
	EventAlert             = "alert"
)

// DefaultMaxEvents bounds the events Alerts keeps when given no bound:
// apisonator keeps all until porta deletes them; Portolan drops the oldest.
const DefaultMaxEvents = 10000

// Event is one of apisonator's backend events.
type Event struct {
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	ServiceID int64     `json:"service_id"`
	AppID     int64     `json:"app_id"`
	Alert     *Alert    `json:"alert,omitempty"`
}

// Alert is what an alert event says: its own id (a sequence of its own, as
// apisonator's alerts/current_id), the bin reached, the utilization ratio
// and the limit that set it.
type Alert struct {
	ID          int64   `json:"id"`
	Level       int     `json:"level"`
	Utilization float64 `json:"utilization"`
	Metric      string  `json:"metric"`
	Period      string  `json:"period"`
	Current     int64   `json:"current"`
	Max         int64   `json:"max"`
}

// usage.db keeps the events and the alert state in two buckets of their own.
var (
	// event id (8) → Event as JSON
	bucketEvents = []byte("events")
	// 'n' + service (8) + application (8) + bin (2) → quiet until (unix s, 8);
	// 't' + application (8) → its last day with traffic (unix s, 8);
	// "ids" → last event id (8) + last alert id (8)
	bucketAlertState = []byte("alert_state")
	keyIDs           = []byte("ids")
)

// write is one change to usage.db: val nil deletes key.
type write struct {
	bucket, key, val []byte
}

func put(bucket, key, val []byte) write { return write{bucket, key, val} }
func del(bucket, key []byte) write      { return write{bucket: bucket, key: key} }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func notifiedKey(k alertKey) []byte {
	b := make([]byte, 19)
	b[0] = 'n'
	binary.BigEndian.PutUint64(b[1:9], uint64(k.service))
	binary.BigEndian.PutUint64(b[9:17], uint64(k.app))
	binary.BigEndian.PutUint16(b[17:19], uint16(k.bin))
	return b
}

func trafficKey(app int64) []byte {
	b := make([]byte, 9)
	b[0] = 't'
	binary.BigEndian.PutUint64(b[1:], uint64(app))
	return b
}

// OpenAlerts loads the events and alert state kept in s's usage.db; events
// are bounded by maxEvents (DefaultMaxEvents when 0). snapshot gives the
// composition Counted checks against.
func OpenAlerts(s *Store, snapshot func() *composition.Snapshot, maxEvents int, now time.Time) (*Alerts, error) {
	if maxEvents <= 0 {
		maxEvents = DefaultMaxEvents
	}
	a := &Alerts{store: s, snapshot: snapshot, maxEvents: maxEvents,
		notified: map[alertKey]int64{}, traffic: map[int64]int64{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketEvents); b != nil {
			if err := b.ForEach(func(_, v []byte) error {
				var ev Event
				if err := json.Unmarshal(v, &ev); err != nil {
					return fmt.Errorf("events: %w", err)
				}
				a.events = append(a.events, ev)
				return nil
			}); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucketAlertState)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			switch {
			case string(k) == string(keyIDs) && len(v) == 16:
				a.lastEvent, a.lastAlert = int64(binary.BigEndian.Uint64(v[:8])), int64(binary.BigEndian.Uint64(v[8:]))
			case len(k) == 19 && k[0] == 'n' && len(v) == 8:
				key := alertKey{int64(binary.BigEndian.Uint64(k[1:9])), int64(binary.BigEndian.Uint64(k[9:17])), int(binary.BigEndian.Uint16(k[17:19]))}
				a.notified[key] = int64(binary.BigEndian.Uint64(v))
			case len(k) == 9 && k[0] == 't' && len(v) == 8:
				a.traffic[int64(binary.BigEndian.Uint64(k[1:]))] = int64(binary.BigEndian.Uint64(v))
			default:
				return fmt.Errorf("alert_state: malformed entry")
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load events from %s: %w", File, err)
	}
	sort.Slice(a.events, func(i, j int) bool { return a.events[i].ID < a.events[j].ID })
	a.mu.Lock()
	a.sweepLocked(snapshot(), dayOf(now), now)
	a.mu.Unlock()
	a.flush()
	return a, nil
}

// appendLocked gives ev the next event id, keeps it, drops the oldest
// beyond maxEvents, and queues the writes.
func (a *Alerts) appendLocked(ev Event) {
	a.lastEvent = composition.AddSaturating(a.lastEvent, 1)
	ev.ID = a.lastEvent
	raw, err := json.Marshal(ev)
	if err != nil { // a struct of numbers and strings: cannot happen
		a.store.log.Error().Err(err).Msg("encoding an event failed")
		return
	}
	a.events = append(a.events, ev)
	for len(a.events) > a.maxEvents {
		a.pending = append(a.pending, del(bucketEvents, u64(uint64(a.events[0].ID))))
		a.events = a.events[1:]
	}
	ids := make([]byte, 16)
	binary.BigEndian.PutUint64(ids[:8], uint64(a.lastEvent))
	binary.BigEndian.PutUint64(ids[8:], uint64(a.lastAlert))
	a.pending = append(a.pending, put(bucketEvents, u64(uint64(ev.ID)), raw), put(bucketAlertState, keyIDs, ids))
}

// Events returns the events kept, oldest first.
func (a *Alerts) Events() []Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Event(nil), a.events...)
}

// DeleteEvent deletes the event id and reports whether there was one.
func (a *Alerts) DeleteEvent(ctx context.Context, id int64) (bool, error) {
	a.mu.Lock()
	i := sort.Search(len(a.events), func(i int) bool { return a.events[i].ID >= id })
	found := i < len(a.events) && a.events[i].ID == id
	if found {
		a.events = append(a.events[:i:i], a.events[i+1:]...)
		a.pending = append(a.pending, del(bucketEvents, u64(uint64(id))))
	}
	a.mu.Unlock()
	if !found {
		return false, nil
	}
	return true, a.flushCtx(ctx)
}

// DeleteEventsUpTo deletes the events with ids up to id and returns how
// many there were; none when id is not above 0, as apisonator.
func (a *Alerts) DeleteEventsUpTo(ctx context.Context, id int64) (int, error) {
	if id <= 0 {
		return 0, nil
	}
	a.mu.Lock()
	n := sort.Search(len(a.events), func(i int) bool { return a.events[i].ID > id })
	for _, ev := range a.events[:n] {
		a.pending = append(a.pending, del(bucketEvents, u64(uint64(ev.ID))))
	}
	a.events = append([]Event(nil), a.events[n:]...)
	a.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	return n, a.flushCtx(ctx)
}

// flush writes what is pending, logging a failure (Counted never fails).
func (a *Alerts) flush() {
	if err := a.flushCtx(context.Background()); err != nil {
		a.store.log.Error().Err(err).Msg("storing usage alert events failed")
	}
}

// flushCtx writes every pending change in one transaction, in the order
// decided. Whoever holds writeMu writes all that is pending then, so a
// caller returns only once its own changes are stored (by it or by the
// writer before it).
func (a *Alerts) flushCtx(ctx context.Context) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	a.mu.Lock()
	ws := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(ws) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		a.mu.Lock()
		a.pending = append(ws, a.pending...)
		a.mu.Unlock()
		return fmt.Errorf("events not stored: %w", err)
	}
	err := a.store.db.Update(func(tx *bolt.Tx) error {
		for _, w := range ws {
			b, err := tx.CreateBucketIfNotExists(w.bucket)
			if err != nil {
				return err
			}
			if w.val == nil {
				err = b.Delete(w.key)
			} else {
				err = b.Put(w.key, w.val)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store events in %s: %w", File, err)
	}
	return nil
}
