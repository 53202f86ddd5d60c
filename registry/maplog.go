package registry

// The map's change log: which instances changed at which index, so that a
// watcher that is current gets only those (MapDelta) instead of the whole
// map. It is bounded: once full, the oldest entries make way, and a watcher
// older than what is left gets the whole map again. Guarded by Registry.mu.

// mapLogSize bounds the change log: entries of (index, instance id).
const mapLogSize = 1 << 16

// mapLog is a ring of the instances that changed, in index order.
type mapLog struct {
	entries []mapLogEntry // grows to mapLogSize, then wraps
	next    int           // where the next entry goes once wrapped
	// horizon is the highest index whose changes may be missing: a delta
	// since an index below it cannot be told.
	horizon uint64
}

// mapLogEntry records that instance id changed (was added, changed status,
// or was removed) at index.
type mapLogEntry struct {
	index uint64
	id    string
}

// note records a change of id at index.
func (l *mapLog) note(index uint64, id string) {
	e := mapLogEntry{index: index, id: id}
	if len(l.entries) < mapLogSize {
		l.entries = append(l.entries, e)
		return
	}
	l.horizon = max(l.horizon, l.entries[l.next].index)
	l.entries[l.next] = e
	l.next = (l.next + 1) % len(l.entries)
}

// reset records a change of everything at index (the composition or the
// catalog moved): a delta since an earlier index cannot be told.
func (l *mapLog) reset(index uint64) { l.horizon = max(l.horizon, index) }

// since calls fn with the id of every change after index, oldest first (an
// id as often as it changed), and reports whether the log holds them all.
func (l *mapLog) since(index uint64, fn func(id string)) bool {
	if index < l.horizon {
		return false
	}
	n := len(l.entries)
	for i := range n {
		e := l.entries[(l.next+i)%n]
		if e.index > index {
			fn(e.id)
		}
	}
	return true
}

// noteLocked records that instance id changes with the coming bump of the
// index: every change of an instance the map shows (its addition, removal
// or status) calls it before bumpLocked.
func (r *Registry) noteLocked(id string) { r.changes.note(r.index+1, id) }
