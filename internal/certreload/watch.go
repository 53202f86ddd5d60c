package certreload

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/backoff"
)

// watched is a value read from files and read again when they change: the
// look at the files, at most once every reloadInterval, the log of a
// failure and its retry, which Reloader (a certificate pair) and Pool
// (CA certificates) share.
//
// Files that are not all regular at start (a FIFO, process substitution's
// /dev/fd/63, a device) are read once, then, and never looked at again: a
// pipe shows no change without being read, and each read of it would take
// what its source gives, or wait, with a handshake, for a writer that
// never comes. A look that finds a file no longer regular refuses it
// before opening it, and keeps the value served.
type watched[T any] struct {
	files, flags []string // the files, and what names each in errors
	role         Role
	load         func(regularOnly bool) (T, error)
	keptMsg      string                                 // logged after the Name when a change does not load and a value is kept
	describe     func(*zerolog.Event, T) *zerolog.Event // adds what the load log says of a value
	readOnce     string                                 // why the files are not watched ("--tls-cert X is not a regular file"); "" when they are

	cur     atomic.Pointer[loaded[T]]
	checked atomic.Int64 // when the files were last looked at, Unix ns

	mu         sync.Mutex         // one look at a time, and what follows
	log        zerolog.Logger     // under mu
	onReload   func(prev, next T) // under mu
	failed     filesState         // the files' state whose value failed to load, logged once
	failedWith string             // and its error
	retry      backoff.Backoff    // paces the reads of a value that keeps failing in the same state
	retryAt    time.Time          // when it is read again though its files did not change
}

// loaded is a served value and the state of the files it came from; ok is
// false until a value loads (a lenient one's).
type loaded[T any] struct {
	val   T
	ok    bool
	files filesState
}

// start loads the value: strictly (an error is returned) or leniently
// (logged, and the value is read again as after a failed change). Only a
// strict start reads files that are not regular (a lenient role's are
// regular only).
func (w *watched[T]) start(strict bool) error {
	w.retry = backoff.Backoff{Min: failedRetryMin, Max: failedRetryMax}
	defer w.checked.Store(time.Now().UnixNano())
	if !strict {
		w.cur.Store(&loaded[T]{})
		w.reload()
		return nil
	}
	st, err := statFiles(w.files, w.flags, w.role, w.role.RegularOnly)
	if err != nil {
		return err
	}
	v, err := w.load(w.role.RegularOnly)
	if err != nil {
		return err
	}
	if !st.regular() {
		w.readOnce = st.notRegular(w.files, w.flags)
	}
	w.cur.Store(&loaded[T]{val: v, ok: true, files: st})
	return nil
}

// setLog sets where reloads and failures are logged, and says there when
// the files are read once only.
func (w *watched[T]) setLog(log zerolog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = log
	if w.readOnce != "" {
		log.Info().Msg(w.role.LogPrefix + w.role.Name + " read once, at start: " + w.readOnce +
			", so it is not watched for changes (give a regular file to have it reloaded)")
	}
}

// current is the value served, after a look at its files when
// reloadInterval has passed since the last one. Only the caller that wins
// the turn looks; the others take the value as it is.
func (w *watched[T]) current() T {
	if w.readOnce == "" {
		now := time.Now().UnixNano()
		if last := w.checked.Load(); now-last >= int64(reloadInterval) && w.checked.CompareAndSwap(last, now) {
			w.reload()
		}
	}
	return w.cur.Load().val
}

// reload loads the value again when its files changed: since the value
// served, and since the last value that failed, or when that failure's
// retry is due (files that stay broken are not read again every second).
// Only regular files are read.
func (w *watched[T]) reload() {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur := w.cur.Load()
	now := time.Now()
	st, err := statFiles(w.files, w.flags, w.role, true)
	if err == nil && (st.same(cur.files) || w.failedWith != "" && st.same(w.failed) && now.Before(w.retryAt)) {
		return
	}
	if err == nil {
		var v T
		if v, err = w.load(true); err == nil {
			w.took(cur, &loaded[T]{val: v, ok: true, files: st})
			return
		}
	}
	if !st.same(w.failed) || err.Error() != w.failedWith {
		w.failed, w.failedWith = st, err.Error()
		w.retry.Reset() // a new failure: its first retry comes soon
		if !cur.ok {
			fallback := ""
			if w.role.Fallback != "" {
				fallback = "; " + w.role.Fallback
			}
			w.log.Error().Err(err).Msg(w.role.LogPrefix + "the " + w.role.Name + " does not load; skipped until it does (read again when its files change, and now and then" + fallback + ")")
		} else {
			w.log.Error().Err(err).Msg(w.role.LogPrefix + "the " + w.role.Name + " " + w.keptMsg)
		}
	}
	w.retryAt = now.Add(w.retry.Next())
}

// took serves next instead of prev, and says so; under mu.
func (w *watched[T]) took(prev, next *loaded[T]) {
	w.cur.Store(next)
	w.failed, w.failedWith = nil, ""
	w.retry.Reset()
	ev := w.describe(w.log.Info(), next.val)
	if !prev.ok {
		ev.Msg(w.role.LogPrefix + w.role.Name + " loaded")
	} else {
		ev.Msg(w.role.LogPrefix + w.role.Name + " reloaded")
	}
	if w.onReload != nil {
		w.onReload(prev.val, next.val)
	}
}
