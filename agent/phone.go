package agent

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// phoneHome registers, then heartbeats every interval until ctx ends. While
// home is down it retries with jittered exponential backoff, capped at the
// heartbeat interval, so an agent is back within two intervals of home
// coming back. An "unknown instance" answer (home restarted) re-registers at
// once, with the join token; so does a refused credential (its join token was
// revoked), and the registration then fails, saying why, until --token
// changes.
func (a *Agent) phoneHome(ctx context.Context) {
	interval := a.cfg.Heartbeat
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: interval}
	wait := time.Duration(0)
	down := false // logs the change, not every failed retry
	lastRefusal := ""
	unreachable := func(err error) {
		if !down && ctx.Err() == nil {
			if errors.Is(err, pki.ErrPinMismatch) {
				// Not an outage: whoever answers is not the home the join
				// token (or --ca-pin/--ca-file) names. Nothing is sent to it.
				a.log.Error().Err(err).Msg("home's certificate is not from the pinned CA: refusing it (a man in the middle, or --home names another coordinator); retrying")
			} else {
				a.log.Warn().Err(err).Msg("home unreachable; retrying (the command keeps running)")
			}
		}
		down = true
	}
	reachable := func() {
		if down {
			a.log.Info().Msg("home reachable again")
		}
		down, lastRefusal = false, ""
	}
	// refused logs each new reason home gives for refusing the registration.
	refused := func(err error) {
		if msg := err.Error(); msg != lastRefusal && ctx.Err() == nil {
			a.log.Error().Err(err).Msg("home refused to register this instance: check --token (revoked, expired, or its scope does not allow this service or these labels); the command keeps running unregistered")
			lastRefusal = msg
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-a.kick:
		}
		if !a.st.isRegistered() {
			reg := a.st.registration()
			reply, err := a.home.Register(ctx, a.id, &reg)
			a.st.contact(err, false)
			a.m.registrations.WithLabelValues(result(err)).Inc()
			if err != nil {
				if errors.Is(err, client.ErrUnauthorized) || client.StatusCode(err) == http.StatusTooManyRequests {
					refused(err)
				} else {
					unreachable(err)
				}
				wait = retry.Next()
				continue
			}
			reachable()
			if err := saveCredential(a.cfg.CacheDir, a.id, reply.Credential); err != nil {
				a.log.Warn().Err(err).Msg("instance credential kept in memory only")
			}
			a.learnSigningKey(reply.SigningKey)
			// Placed first: once the local API says registered, the
			// placement file is there.
			a.placed(&reply.Placement, reply.Revision)
			a.st.setRegistered(true)
			a.st.contact(nil, true)
			if reply.HeartbeatInterval > 0 {
				interval = time.Duration(reply.HeartbeatInterval)
				retry.Max = interval
			}
			a.gossipKeysFromHome(reply.GossipKeys)
			a.log.Info().Str("id", a.id).Str("service", reply.Placement.Service).Uint64("revision", reply.Revision).Msg("registered")
			retry.Reset()
			wait = interval
			if a.bring != nil {
				a.bring.done = false // a new registration brings the documents again
			}
			if again, w := a.bringComposition(ctx, interval); again {
				wait = min(wait, w)
				continue // CMD waits (--wait-home) for home's answer
			}
			a.once.Do(func() { close(a.first) })
			continue
		}
		again, bringWait := a.bringComposition(ctx, interval)
		if !again {
			a.once.Do(func() { close(a.first) })
		}
		hb := a.st.heartbeat()
		reply, err := a.home.Heartbeat(ctx, a.id, &hb)
		a.st.contact(err, err == nil)
		a.m.heartbeats.WithLabelValues(result(err)).Inc()
		switch {
		case errors.Is(err, client.ErrUnknownInstance):
			a.log.Info().Msg("home does not know this instance (restarted?); registering again")
			a.st.setRegistered(false)
			wait = 0
		case errors.Is(err, client.ErrUnauthorized):
			a.log.Warn().Err(err).Msg("home refused this instance's credential (its join token revoked?); registering again")
			a.st.setRegistered(false)
			wait = retry.Next()
		case err != nil:
			unreachable(err)
			wait = retry.Next()
		default:
			reachable()
			a.placed(reply.Placement, reply.Revision)
			a.gossipKeysFromHome(reply.GossipKeys)
			retry.Reset()
			wait = interval
		}
		if again {
			wait = min(wait, bringWait)
		}
	}
}

// placed applies a placement and revision from home.
func (a *Agent) placed(p *registry.Placement, revision uint64) {
	if !a.st.learn(p, revision) {
		return
	}
	if err := writePlacement(a.cfg.PlacementFile, a.id, p); err != nil {
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
