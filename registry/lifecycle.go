package registry

import (
	"time"
)

// An instance's life after registration: heartbeats, draining, failure,
// deregistration, and the status they make.

// Heartbeat records a sign of life with the agent's health status. The reply
// carries the placement only when it differs from what the instance was last
// told.
func (r *Registry) Heartbeat(id string, hb Heartbeat) (HeartbeatReply, error) {
	return r.beat(id, nil, hb)
}

// beat applies hb to the instance id; with of, only when of is still
// the instance registered under id (the one a credential named before the
// lock was taken), so the lookup and the heartbeat need one acquisition.
func (r *Registry) beat(id string, of *instance, hb Heartbeat) (HeartbeatReply, error) {
	if err := validateID(id); err != nil {
		return HeartbeatReply{}, err
	}
	if err := validateHeartbeat(&hb); err != nil {
		return HeartbeatReply{}, err
	}
	r.beats.Add(1)
	keys, keysVersion := r.gossipKeyring()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	in, ok := r.instances[id]
	if !ok || in.revoked || (of != nil && in != of) {
		return HeartbeatReply{}, ErrUnknown
	}
	now := r.now()
	in.lastHeartbeat = now
	in.expired = false
	in.health = statusCodeOf(hb.Status)
	if hb.Output != in.output { // the same output as last time: nothing to look up
		in.output = r.intern.str(hb.Output)
	}
	old, changed := in.updateStatus(now)
	r.scheduleLocked(in) // no heap work unless its deadline came nearer
	if changed {
		r.noteLocked(id)
		r.bumpLocked()
		r.log.Info().Str("instance", id).Str("from", old.String()).Str("to", in.status.String()).Msg("instance status changed")
	}
	reply := HeartbeatReply{Revision: r.snap.Revision}
	if in.placement != in.sent && !samePlacement(*in.placement, *in.sent) {
		p := *in.placement // the reply's own: in.placement is shared
		reply.Placement = &p
		reply.ViewKey = r.viewKeyFor(p.Service, in.reg.Service)
		in.sent = in.placement
	}
	reply.GossipKeys, reply.GossipKeysVersion = r.gossipKeysAtHeartbeatLocked(in, hb.GossipKeysVersion, keys, keysVersion)
	return reply, nil
}

// Drain marks an instance as stopping: it leaves the map's passing set and
// stays draining until it is deregistered or its TTL expires.
func (r *Registry) Drain(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	in, ok := r.instances[id]
	if !ok || in.revoked { // revoked after its credential was checked: refused, as a heartbeat is
		return ErrUnknown
	}
	now := r.now()
	in.draining = true
	in.expired = false
	in.lastHeartbeat = now
	old, changed := in.updateStatus(now)
	r.scheduleLocked(in)
	if changed {
		r.noteLocked(id)
		r.bumpLocked()
		r.log.Info().Str("instance", id).Str("from", old.String()).Msg("instance draining")
	}
	return nil
}

// Fail turns an instance critical before its TTL runs out, on a second
// failure signal (gossip declaring its node dead). Like a TTL expiry, the
// instance's next heartbeat makes it passing again. It reports whether the
// instance was known and not already critical.
func (r *Registry) Fail(id, reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	in, ok := r.instances[id]
	if !ok || in.expired {
		return false
	}
	in.expired = true
	in.output = reason
	r.forgetKeysLocked(in) // held for dead: no rotation waits for it
	old, changed := in.updateStatus(r.now())
	r.scheduleLocked(in)
	if changed {
		r.noteLocked(id)
		r.bumpLocked()
		r.log.Warn().Str("instance", id).Str("from", old.String()).Str("reason", reason).Msg("instance critical")
	}
	return changed
}

// Deregister removes an instance at once.
func (r *Registry) Deregister(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	r.mu.Lock()
	_, ok := r.instances[id]
	if ok {
		r.removeLocked(id)
		r.bumpLocked()
	}
	r.mu.Unlock()
	if !ok {
		return ErrUnknown
	}
	r.deregs.Add(1)
	r.log.Info().Str("instance", id).Msg("instance deregistered")
	return nil
}

// updateStatus recomputes the effective status; a change to critical starts
// the critical clock at now.
func (in *instance) updateStatus(now time.Time) (old statusCode, changed bool) {
	next := in.health
	switch {
	case in.expired:
		next = codeCritical
	case in.draining:
		next = codeDraining
	}
	old = in.status
	if next == old {
		return old, false
	}
	if next == codeCritical {
		in.criticalSince = now
	}
	in.status = next
	return old, true
}
