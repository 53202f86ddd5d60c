package usage

import "time"

// Shared is a kind of per-service counters that coordinators sharing a
// Consul add up (StartSharingOf): each publishes its own, never what it was
// given, and is given the others'. The usage store's counters are one kind
// (storeShared); the gateway's global rate limit windows, which the
// coordinator counts, are another.
type Shared interface {
	// Changed returns this coordinator's document of each service whose
	// counters changed since the last call (every service's at the first).
	Changed(now time.Time) map[int64]any
	// Republish has service's document published again next round: its
	// write failed, or it disappeared from Consul.
	Republish(service int64)
	// Decode checks and decodes another coordinator's document of service.
	Decode(service int64, b []byte) (any, error)
	// SetPeers replaces the other coordinators' counters with their
	// documents, as Decode returned them.
	SetPeers(docs []any)
}

// storeShared is the usage store's counters as Shared.
type storeShared struct{ s *Store }

func (u storeShared) Changed(now time.Time) map[int64]any {
	docs := u.s.takeChanged(now)
	if len(docs) == 0 {
		return nil
	}
	out := make(map[int64]any, len(docs))
	for service, doc := range docs {
		out[service] = doc
	}
	return out
}

func (u storeShared) Republish(service int64) { u.s.markChanged(service) }

func (u storeShared) Decode(service int64, b []byte) (any, error) {
	return decodeUsageDoc(b, service)
}

func (u storeShared) SetPeers(docs []any) {
	peers := newPeerUsage()
	for _, d := range docs {
		peers.add(d.(usageDoc))
	}
	u.s.setPeers(peers)
}
