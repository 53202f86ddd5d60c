package registry

// Stats are the registry's counters, for metrics.
type Stats struct {
	Instances       map[string]int // by status; every status present
	Index           uint64
	Registrations   uint64
	Heartbeats      uint64
	Deregistrations uint64
	Expirations     uint64 // TTL expiries
	Removals        uint64 // removed after being critical too long
	// RefusedAtCap counts registrations refused at home's cap of live
	// instances (--max-instances), RefusedAtTokenCap those refused at a
	// join token's (its max_instances); RefusedIDTaken those of an id live
	// through another join token (answered 409: the agent draws a new id).
	RefusedAtCap      uint64
	RefusedAtTokenCap uint64
	RefusedIDTaken    uint64
}

// Stats returns the instance counts by status and the counters.
func (r *Registry) Stats() Stats {
	s := Stats{Instances: map[string]int{
		StatusPassing: 0, StatusWarning: 0, StatusCritical: 0, StatusDraining: 0,
	}}
	r.mu.Lock()
	for _, in := range r.instances {
		s.Instances[in.status.String()]++
	}
	s.Index = r.index
	r.mu.Unlock()
	s.Registrations = r.registered.Load()
	s.Heartbeats = r.beats.Load()
	s.Deregistrations = r.deregs.Load()
	s.Expirations = r.expired.Load()
	s.Removals = r.removed.Load()
	s.RefusedAtCap = r.refusedAtCap.Load()
	s.RefusedAtTokenCap = r.refusedAtTokenCap.Load()
	s.RefusedIDTaken = r.refusedIDTaken.Load()
	return s
}

// Len returns the number of registered instances.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.instances)
}
