package registry

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Sharing what instances repeat. A fleet of 100,000 instances runs a few
// services, a few label sets and agent versions, and its health checks
// answer a few outputs: each instance keeps a reference to one shared copy
// of these, not one of its own, and instances with the same service and
// labels share one computed placement (its plan and placement slices).
//
// The tables are bounded and start afresh when full, so that instances
// sending ever new values (a check output with a timestamp) cost what they
// did before sharing plus the bounded tables: an instance keeps the value it
// was given, only the sharing is lost. They are guarded by Registry.mu.

// Bounds of the sharing tables.
const (
	maxInterned       = 4096 // entries per table
	maxInternedString = 256  // longer strings are kept as they come
)

// table is a bounded map from a key to a shared value.
type table[V any] struct{ m map[string]V }

// get returns the value under key, or stores and returns newValue's.
func (t *table[V]) get(key string, newValue func() V) V {
	if v, ok := t.m[key]; ok {
		return v
	}
	if t.m == nil || len(t.m) >= maxInterned {
		t.m = map[string]V{}
	}
	v := newValue()
	t.m[key] = v
	return v
}

// interner shares strings and label sets.
type interner struct {
	strings table[string]
	labels  table[labelSet]
}

// str returns the shared copy of s. Statuses are answered with the
// constants, which need no table.
func (i *interner) str(s string) string {
	switch s {
	case "":
		return ""
	case StatusPassing:
		return StatusPassing
	case StatusWarning:
		return StatusWarning
	case StatusCritical:
		return StatusCritical
	case StatusDraining:
		return StatusDraining
	}
	if len(s) > maxInternedString {
		return s
	}
	return i.strings.get(s, func() string { return strings.Clone(s) })
}

// labelSet is a shared, never edited, label map with its key.
type labelSet struct {
	key string // labelsKey of m
	m   map[string]string
}

// labelSet returns the shared label set equal to labels (nil for none).
func (i *interner) labelSet(labels map[string]string) labelSet {
	if len(labels) == 0 {
		return labelSet{}
	}
	key := labelsKey(labels)
	return i.labels.get(key, func() labelSet {
		m := make(map[string]string, len(labels))
		for k, v := range labels {
			m[i.str(k)] = i.str(v)
		}
		return labelSet{key: key, m: m}
	})
}

// labelsKey encodes labels in key order, each key and value prefixed with
// its length, so that no two label sets share a key.
func labelsKey(labels map[string]string) string {
	var b []byte
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b = appendField(b, k)
		b = appendField(b, labels[k])
	}
	return string(b)
}

func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	return append(append(b, ':'), s...)
}

// placementCache holds the placements computed from one composition
// revision, by service and label set; it is emptied when the registry moves
// to a new revision.
type placementCache struct {
	revision uint64
	t        table[*Placement]
}

// placementFor returns the shared placement of an instance of service with
// labels in snap. The caller must not edit it.
func (r *Registry) placementFor(service string, labels labelSet) *Placement {
	c := &r.placements
	if c.revision != r.snap.Revision {
		c.revision, c.t.m = r.snap.Revision, nil
	}
	return c.t.get(string(appendField(nil, service))+labels.key, func() *Placement {
		p := PlacementFor(r.snap, service, labels.m)
		return &p
	})
}
