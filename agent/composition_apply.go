package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry/client"
)

// A container brings its management: the documents baked into its image
// (--composition) are sent to home after every registration, before the
// first registration releases CMD (--wait-home), and home applies them to
// the instance's service under its version rule (coordinator/imageapply.go).
//
// Home unreachable, or failing, is retried with the agent's backoff while
// the heartbeats go on, and meanwhile the agent serves the last composition
// it has, as it always does: an agent must keep working without home, and
// documents it could not deliver are no reason to stop serving. A refusal
// (another service, a kind an image may not bring, a conflicting version)
// is an answer: it is logged, not retried until the next registration, and
// the command keeps running.

// bringTimeout bounds one delivery of the documents: an apply writes a
// revision, longer than the other calls.
const bringTimeout = 30 * time.Second

// bringing is the agent's documents. They are delivered by a goroutine of
// their own (delivery), never on the home loop: a home slow to apply them
// must not hold the heartbeats, or it marks a healthy instance critical.
type bringing struct {
	docs []manifest.Document
}

// loadComposition reads the documents of paths, refusing at startup what
// home would refuse anyway: documents that are not one Service document of
// service with its backends.
func loadComposition(paths []string, service string) (*bringing, error) {
	docs, err := manifest.Load(paths...)
	if err != nil {
		return nil, fmt.Errorf("--composition: %w", err)
	}
	// Named as the manifest's errors name a problem, and as home would.
	refuse := func(d *manifest.Document, path, format string, args ...any) error {
		return fmt.Errorf("--composition: %w", &manifest.Error{Source: d.Origin.Source, Index: d.Origin.Index, Line: d.Origin.Line,
			Kind: string(d.Kind), Name: d.Name(), Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	services := 0
	for i := range docs {
		switch d := &docs[i]; d.Kind {
		case manifest.KindService:
			services++
			if service != "" && d.Service.SystemName != service {
				return nil, refuse(d, "system_name", "Service %q is not --service %q: an image brings its own service's documents", d.Service.SystemName, service)
			}
		case manifest.KindBackend:
		default:
			return nil, refuse(d, "", "an image brings Service and Backend documents only; %ss are managed at home", d.Kind)
		}
	}
	if services != 1 {
		return nil, fmt.Errorf("--composition %v: want one Service document (of %q), found %d", paths, service, services)
	}
	return &bringing{docs: docs}, nil
}

// delivery is one run of delivering the documents: from a registration
// until home answers, the next registration or the agent stops. Only the
// home loop starts and stops it.
type delivery struct {
	cancel   context.CancelFunc
	done     chan struct{} // closed when its goroutine has returned
	answered chan struct{} // receives once when home answered
}

// startDelivery starts delivering the documents to home for the instance
// registered now, retrying with backoff (at most every interval) until home
// answers; nil without documents to bring. Stop it before the next.
func (a *Agent) startDelivery(ctx context.Context, interval time.Duration) *delivery {
	if a.bring == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	d := &delivery{cancel: cancel, done: make(chan struct{}), answered: make(chan struct{}, 1)}
	go func() {
		defer close(d.done)
		retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: interval}
		failing := false
		for {
			if a.bringComposition(ctx, &failing) {
				d.answered <- struct{}{}
				return
			}
			if !retry.Wait(ctx) {
				return
			}
		}
	}()
	return d
}

// stop cancels the delivery and waits for its goroutine; nil does nothing.
func (d *delivery) stop() {
	if d != nil {
		d.cancel()
		<-d.done
	}
}

// answer receives once when home answered the delivery; never for nil.
func (d *delivery) answer() <-chan struct{} {
	if d == nil {
		return nil
	}
	return d.answered
}

// bringComposition delivers the documents once and reports whether home
// answered: applied, already had them, or refused them (not retried until
// the next registration; a 408 or 429 is not a refusal). failing makes a
// run of failures log once.
func (a *Agent) bringComposition(ctx context.Context, failing *bool) (answered bool) {
	cctx, cancel := context.WithTimeout(ctx, bringTimeout)
	reply, err := a.home.BringComposition(cctx, a.ID(), a.bring.docs)
	cancel()
	code := client.StatusCode(err)
	switch {
	case err == nil:
		*failing = false
		ev := a.log.Info().Str("service", reply.Service).Int64("version", reply.Version).Int64("home_version", reply.StoredVersion).Uint64("revision", reply.Revision)
		switch reply.Outcome {
		case composition.ManagedApply:
			ev.Int("changes", len(reply.Changes)).Msg("home applied this image's composition")
		case composition.ManagedOlder:
			ev.Msg("home has a newer version of this service's composition: it stays")
		default:
			ev.Msg("home already has this image's composition")
		}
		return true
	case ctx.Err() != nil:
		return false // stopped: a new registration, or the agent
	case errors.Is(err, client.ErrUnknownInstance), code == http.StatusUnauthorized:
		// The registration is gone: the heartbeat finds out and registers
		// again, which starts a new delivery. Or, while the heartbeats
		// pass, the 404 is a home or a proxy without the route: said once,
		// or a --wait-home would wait out its time with nothing saying why.
		if !*failing {
			a.log.Info().Err(err).Msg("home did not take this image's composition: it no longer knows this instance (it registers again), " +
				"or has no route for image documents (a home older than this agent, or a proxy in front of it); retrying")
		}
		*failing = true
		return false
	case code == http.StatusConflict:
		a.log.Error().Err(err).Msg("home refused this image's composition: the same version with other content is there; raise version: in the documents (the command keeps running)")
		return true
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		// 408 and 429 (from home's bounds or a proxy in front of it) say
		// "not now", not "never": they are retried as a 5xx is.
		a.log.Error().Err(err).Msg("home refused this image's composition: check the join token's service scope and the documents (the command keeps running)")
		return true
	}
	if !*failing {
		a.log.Warn().Err(err).Msg("could not bring this image's composition to home; retrying (serving the last composition meanwhile)")
	}
	*failing = true
	return false
}
