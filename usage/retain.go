package usage

// Deleted applications. Memory holds the counters of the current periods
// of every application that had usage, and eternity's period never ends:
// without Retain an application deleted from the composition would keep
// its entries (counters, service link, peers' counters) until the process
// stopped, and load them again at the next start, so memory would grow
// with every application ever created. usage.db keeps their counters (the
// Analytics API reads them there); only memory lets them go.

// Retain drops from memory every application live does not report as live:
// its current counters, its service link and the other coordinators'
// counters of it, and marks its service changed so that Sharing publishes
// the service's document without it (the peers drop it in turn). The
// counters of live applications are untouched. It returns how many
// applications it dropped. It holds the store's lock for one pass over the
// applications in memory: call it when the composition changed, not per
// request. An application whose usage arrives after it was dropped (a
// batch checked against an older snapshot) is held again, until the next
// call drops it.
func (s *Store) Retain(live func(app int64) bool) (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[int64]struct{}{}
	for app := range s.cur {
		if !live(app) {
			gone[app] = struct{}{}
		}
	}
	for app := range s.appSvc {
		if _, seen := gone[app]; !seen && !live(app) {
			gone[app] = struct{}{}
		}
	}
	for app := range gone {
		delete(s.cur, app)
		if service, ok := s.appSvc[app]; ok {
			delete(s.appSvc, app)
			if apps := s.svcApps[service]; apps != nil {
				delete(apps, app)
				if len(apps) == 0 {
					delete(s.svcApps, service)
				}
			}
			if s.changed != nil {
				s.changed[service] = struct{}{}
			}
		}
	}
	if s.peers != nil {
		s.peers.retain(live)
	}
	return len(gone)
}

// Held is the number of applications memory holds counters or a service
// link of: what Retain bounds.
func (s *Store) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.cur)
	for app := range s.appSvc {
		if _, ok := s.cur[app]; !ok {
			n++
		}
	}
	return n
}

// retain drops the counters of applications not live; a peer still
// publishing one brings it back at its next document, until its own Retain
// drops it.
func (p *peerUsage) retain(live func(app int64) bool) {
	for app := range p.apps {
		if !live(app) {
			delete(p.apps, app)
		}
	}
	for service, apps := range p.svcApps {
		for app := range apps {
			if !live(app) {
				delete(apps, app)
			}
		}
		if len(apps) == 0 {
			delete(p.svcApps, service)
		}
	}
}
