package usage

// Seen reports whether the batch id was applied, or is being applied, as
// Apply would find it, without claiming it: home asks it of the batch id
// spaces of the join tokens a batch was sent with before its sender's own
// (coordinator/usage_batchid.go), where it must not record anything. The
// memory is looked at before usage.db, as claimBatch does: an id leaves it
// only once a checkpoint put it in usage.db.
func (s *Store) Seen(id string) (bool, error) {
	s.ovMu.Lock()
	_, seen := s.inflight[id]
	for _, p := range []*pending{s.sealed, s.open} {
		if p != nil && !seen {
			_, seen = p.batches[id]
		}
	}
	s.ovMu.Unlock()
	if seen {
		return true, nil
	}
	return s.batchInDB(id)
}
