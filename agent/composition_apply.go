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

// bringing is the agent's documents and where their delivery stands; only
// the phoneHome loop touches it.
type bringing struct {
	docs    []manifest.Document
	done    bool // home answered since the last registration
	failing bool // logs the change, not every failed retry
	retry   backoff.Backoff
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
	return &bringing{docs: docs, retry: backoff.Backoff{Min: 100 * time.Millisecond, Max: DefaultHeartbeat}}, nil
}

// bringComposition delivers the documents once if they are due, and
// reports whether it should be tried again soon (home did not answer) with
// the wait before then.
func (a *Agent) bringComposition(ctx context.Context, interval time.Duration) (again bool, wait time.Duration) {
	b := a.bring
	if b == nil || b.done {
		return false, 0
	}
	cctx, cancel := context.WithTimeout(ctx, bringTimeout)
	reply, err := a.home.BringComposition(cctx, a.ID(), b.docs)
	cancel()
	code := client.StatusCode(err)
	switch {
	case err == nil:
		b.done, b.failing = true, false
		b.retry.Reset()
		ev := a.log.Info().Str("service", reply.Service).Int64("version", reply.Version).Int64("home_version", reply.StoredVersion).Uint64("revision", reply.Revision)
		switch reply.Outcome {
		case composition.ManagedApply:
			ev.Int("changes", len(reply.Changes)).Msg("home applied this image's composition")
		case composition.ManagedOlder:
			ev.Msg("home has a newer version of this service's composition: it stays")
		default:
			ev.Msg("home already has this image's composition")
		}
		return false, 0
	case errors.Is(err, client.ErrUnknownInstance), code == http.StatusUnauthorized:
		// The registration is gone: the heartbeat finds out and registers
		// again, which brings the documents again.
		return true, b.retry.Next()
	case code == http.StatusConflict:
		b.done = true
		a.log.Error().Err(err).Msg("home refused this image's composition: the same version with other content is there; raise version: in the documents (the command keeps running)")
		return false, 0
	case code >= 400 && code < 500:
		b.done = true
		a.log.Error().Err(err).Msg("home refused this image's composition: check the join token's service scope and the documents (the command keeps running)")
		return false, 0
	}
	if !b.failing && ctx.Err() == nil {
		a.log.Warn().Err(err).Msg("could not bring this image's composition to home; retrying (serving the last composition meanwhile)")
	}
	b.failing = true
	b.retry.Max = interval
	return true, b.retry.Next()
}
