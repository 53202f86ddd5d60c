package agent

import (
	"context"
	"errors"
	"time"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// refusedRetryMax caps the wait between registrations while home refuses
// the token: a refusal lasts until someone changes the token, so there is
// no point asking every heartbeat, but an operator who fixes it at home
// (a new scope, a later expiry) sees the agent back within a minute.
const refusedRetryMax = time.Minute

// phoneHome registers, then heartbeats every interval until ctx ends. While
// home is down it retries with jittered exponential backoff, capped at the
// heartbeat interval, so an agent is back within two intervals of home
// coming back. An "unknown instance" answer (home restarted) re-registers at
// once, with the join token; so does a refused credential (its join token was
// revoked). An id home holds for another join token (409: registered by
// someone else while home had forgotten this instance) is given up for a
// new one, registered at once, at most maxNewIDsPerMinute a minute
// (instanceid.go). A refused join token (401 or 403: wrong, expired,
// revoked) is not an outage: the agent says so once, shows it on its local API, keeps
// supervising CMD and asks again at most every refusedRetryMax. The image's
// documents (--composition) go to home from a goroutine of their own, one
// per registration (startDelivery): the heartbeats never wait for them.
func (a *Agent) phoneHome(ctx context.Context) {
	interval := a.cfg.Heartbeat
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: interval}
	refusedRetry := backoff.Backoff{Min: time.Second, Max: refusedRetryMax}
	wait := time.Duration(0)
	hs := homeLog{log: a.log}
	var draws idDraws
	var bring *delivery // the image's documents on their way to home
	defer func() { bring.stop() }()
	for {
		if !a.pause(ctx, wait, bring) {
			return
		}
		if !a.st.isRegistered() {
			if ctx.Err() != nil { // pause may pick a zero wait over ctx's end
				return
			}
			reg := a.st.registration()
			id := a.ID()
			// Not cut short when ctx ends: home carries out a
			// registration whose caller has gone, and the agent, without
			// its reply, would hold no credential to deregister with:
			// the instance would stay on home's map, passing, until its
			// TTL ran out. Waiting for the reply (bounded) keeps the
			// agent's deregistration last.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), homeCallTimeout)
			reply, err := a.home.Register(rctx, id, &reg)
			cancel()
			a.st.contact(callRegister, err)
			a.m.registrations.WithLabelValues(result(err)).Inc()
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				if errors.Is(err, client.ErrIDTaken) {
					hs.reachable()
					wait = a.idTaken(err, &draws, time.Now())
				} else if _, ok := client.Refused(err); ok {
					hs.refused(err)
					wait = refusedRetry.Next()
				} else {
					hs.failed(err)
					wait = retry.Next()
				}
				continue
			}
			hs.reachable()
			refusedRetry.Reset()
			if err := saveCredential(a.cfg.CacheDir, id, reply.Credential); err != nil {
				a.log.Warn().Err(err).Msg("instance credential kept in memory only")
			}
			a.learnSigningKey(reply.SigningKey)
			// Before the keyring: gossip may start with it, and must seal.
			a.viewKeyFromHome(reply.ViewKey, &reply.Placement, true)
			// Placed first: once the local API says registered, the
			// placement file is there.
			a.placed(&reply.Placement, reply.Revision)
			a.st.setRegistered(true)
			a.drainIfStopping()
			if reply.HeartbeatInterval > 0 {
				interval = time.Duration(reply.HeartbeatInterval)
				retry.Max = interval
			}
			a.gossipKeysFromHome(reply.GossipKeys, reply.GossipKeysVersion, true)
			a.log.Info().Str("id", id).Str("service", reply.Placement.Service).Uint64("revision", reply.Revision).Msg("registered")
			retry.Reset()
			wait = interval
			// A new registration brings the documents again; CMD waits
			// (--wait-home) for home's answer to them (pause).
			bring.stop()
			if bring = a.startDelivery(ctx, interval); bring == nil {
				a.released()
			}
			continue
		}
		hb := a.st.heartbeat()
		hb.GossipKeysVersion = a.gossipKeysVersion() // home resends the keyring until it arrives
		reply, err := a.home.Heartbeat(ctx, a.ID(), &hb)
		a.st.contact(callHeartbeat, err)
		a.m.heartbeats.WithLabelValues(result(err)).Inc()
		switch {
		case errors.Is(err, client.ErrUnknownInstance):
			a.log.Info().Msg("home does not know this instance (restarted?); registering again")
			a.st.setRegistered(false)
			wait = 0
		case errors.Is(err, client.ErrUnauthorized):
			a.log.Warn().Err(err).Msg("home refused this instance's credential (home restarted and forgot it, or its join token was revoked); registering again")
			a.st.setRegistered(false)
			wait = retry.Next()
		case err != nil:
			if ctx.Err() == nil {
				hs.failed(err)
			}
			wait = retry.Next()
		default:
			hs.reachable()
			if reply.Placement != nil { // a new placement brings its service's key
				a.viewKeyFromHome(reply.ViewKey, reply.Placement, false)
			}
			a.placed(reply.Placement, reply.Revision)
			a.gossipKeysFromHome(reply.GossipKeys, reply.GossipKeysVersion, false)
			retry.Reset()
			wait = interval
		}
	}
}

// pause waits d, or less when a check's status changed (kick), and reports
// false when ctx ended. Home's answer to the image's documents releases CMD
// (--wait-home) meanwhile, without cutting the wait short: the heartbeats
// keep their pace whatever the delivery does.
func (a *Agent) pause(ctx context.Context, d time.Duration, bring *delivery) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-a.kick:
			return true
		case <-bring.answer():
			a.released()
		}
	}
}

// released lets CMD start (--wait-home): the instance is registered, and
// home answered its image's documents if it brings any.
func (a *Agent) released() {
	a.once.Do(func() { close(a.first) })
}

// placed applies a placement and revision from home.
func (a *Agent) placed(p *registry.Placement, revision uint64) {
	if !a.st.learn(p, revision) {
		return
	}
	if err := writePlacement(a.cfg.PlacementFile, a.ID(), p); err != nil {
		a.log.Warn().Err(err).Str("file", a.cfg.PlacementFile).Msg("write placement file")
	}
	if a.usage != nil && p.ServiceID != 0 {
		// Ask home for the cluster-wide totals now rather than at the next
		// report: until they arrive, this gateway knows only its own usage.
		a.usage.Wake()
	}
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
