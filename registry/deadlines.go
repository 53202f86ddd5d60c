package registry

import (
	"container/heap"
	"math"
	"time"
)

// The reaper's deadlines: a min-heap of the live instances keyed by when
// the reaper must next look at each, so that a tick costs O(1) when nothing
// is due and O(log n) per instance that is, however many instances the
// registry holds; the reaper sleeps until the earliest key.
//
// An instance's deadline is the earliest of its expiry (lastHeartbeat+ttl,
// while it is not expired) and its removal (criticalSince+dca, while it is
// critical). The keys are lazy: a key may be earlier than the instance's
// deadline, never later. A heartbeat only moves the deadline later, so it
// leaves the key alone (O(1) in the hot path, no heap work under the lock
// per heartbeat); when the reaper pops a key that is no longer due it
// re-keys the instance at its real deadline. With a heartbeat every third
// of the TTL an instance is re-keyed once per TTL instead of fixed three
// times, and the heap never holds more than one entry per instance. A
// change that moves the deadline earlier (a critical status, a revoked
// token, a registration) fixes the key at once (scheduleLocked).

// ticks are nanoseconds since the registry's epoch: heap keys of 8 bytes
// that keep the monotonic clock's order.
type ticks int64

const never ticks = math.MaxInt64

// Bounds of the reaper's sleep: at least minReaperSleep so that keys due
// within it are popped in one batch (expiry stays within it of the TTL), at
// most maxReaperSleep so that a stepped clock is caught up with.
const (
	minReaperSleep = 5 * time.Millisecond
	maxReaperSleep = time.Second
)

// deadlineHeap orders instances by key; each holds its index in slot.
type deadlineHeap []*instance

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].key < h[j].key }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = int32(i), int32(j)
}

func (h *deadlineHeap) Push(x any) {
	in := x.(*instance)
	in.slot = int32(len(*h))
	*h = append(*h, in)
}

func (h *deadlineHeap) Pop() any {
	old := *h
	in := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	in.slot = -1
	return in
}

// ticksAt converts a time of the registry's clock into ticks.
func (r *Registry) ticksAt(t time.Time) ticks { return ticks(t.Sub(r.epoch)) }

// deadline is when the reaper must next act on in: its expiry, or its
// removal once critical; never when neither applies.
func (r *Registry) deadline(in *instance) ticks {
	d := never
	if !in.expired {
		d = r.ticksAt(in.lastHeartbeat.Add(in.ttl))
	}
	if in.status == codeCritical {
		d = min(d, r.ticksAt(in.criticalSince.Add(r.dca)))
	}
	return d
}

// scheduleLocked keys in at its deadline when that is earlier than its key
// (or it has none yet), and wakes the reaper when it would sleep past it.
// A later deadline is left to the reaper (see above).
func (r *Registry) scheduleLocked(in *instance) {
	d := r.deadline(in)
	switch {
	case in.slot < 0:
		in.key = d
		heap.Push(&r.deadlines, in)
	case d < in.key:
		in.key = d
		heap.Fix(&r.deadlines, int(in.slot))
	default:
		return
	}
	if d < r.wakeAt {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// unscheduleLocked takes in out of the heap.
func (r *Registry) unscheduleLocked(in *instance) {
	if in.slot >= 0 {
		heap.Remove(&r.deadlines, int(in.slot))
	}
}

// sweep acts on every instance whose key is due at now: those without a
// heartbeat within their TTL turn critical, those critical for
// DeregisterCriticalAfter are removed, and the others are re-keyed at their
// real deadline. It touches only the due keys and the top of the heap.
func (r *Registry) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := r.ticksAt(now)
	changed := false
	for len(r.deadlines) > 0 {
		in := r.deadlines[0]
		r.examined++
		if in.key > at {
			break
		}
		if !in.expired && r.ticksAt(in.lastHeartbeat.Add(in.ttl)) <= at {
			deadline := in.lastHeartbeat.Add(in.ttl)
			in.expired = true
			in.output = OutputTTLExpired
			r.forgetKeysLocked(in) // silent: no rotation waits for it
			if old, ok := in.updateStatus(deadline); ok {
				r.noteLocked(in.id)
				changed = true
				r.log.Warn().Str("instance", in.id).Str("from", old.String()).Dur("ttl", in.ttl).Msg("instance critical: TTL expired")
			}
			r.expired.Add(1)
		}
		if in.status == codeCritical && r.ticksAt(in.criticalSince.Add(r.dca)) <= at {
			r.removeLocked(in.id)
			changed = true
			r.removed.Add(1)
			r.log.Warn().Str("instance", in.id).Dur("critical_for", now.Sub(in.criticalSince)).
				Msg("instance removed: critical too long")
			continue
		}
		in.key = r.deadline(in)
		heap.Fix(&r.deadlines, 0)
	}
	if changed {
		r.bumpLocked()
	}
}

// nextSleep is how long the reaper may sleep from now: until the earliest
// key, within [minReaperSleep, maxReaperSleep]. It records when the reaper
// will wake, so that scheduleLocked wakes it earlier when needed.
func (r *Registry) nextSleep(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := r.ticksAt(now)
	d := maxReaperSleep
	if len(r.deadlines) > 0 {
		d = min(d, time.Duration(r.deadlines[0].key-at))
	}
	d = max(d, minReaperSleep)
	r.wakeAt = at + ticks(d)
	return d
}

// reap runs the reaper until done is closed: it sweeps when the earliest
// deadline is due, or when woken for an earlier one.
func (r *Registry) reap(done <-chan struct{}) {
	t := time.NewTimer(r.nextSleep(r.now()))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			now := r.now()
			r.sweep(now)
			t.Reset(r.nextSleep(now))
		case <-r.wake:
			t.Reset(r.nextSleep(r.now()))
		}
	}
}
