package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
)

// The agent holds a composition only as a signed view (registry.SignedView)
// of home's: from home, from a gossip peer or from its cache dir, a view is
// taken only when its signature verifies under home's signing key, which
// the agent learns at registration (over TLS) and keeps in its cache dir.
// Until it knows the key it takes nothing: a cache or a peer cannot teach
// it one. compositionCache (composition_cache.go) holds what it took.

// errNoSigningKey refuses a view before home told the agent its key.
var errNoSigningKey = errors.New("home's composition signing key is not known yet (the agent never registered, and its cache dir holds none): no composition is accepted before it is")

// verifyView opens a signed view under the agent's key and checks, for one
// from a peer or the cache, that it is for the service the instance serves.
// Home chooses the audience itself for the caller, so its views are taken
// as they come.
func (a *Agent) verifyView(b []byte, from string) (*registry.SignedView, error) {
	pub := a.comp.key()
	if pub == nil {
		return nil, errNoSigningKey
	}
	v, err := registry.OpenView(pub, b)
	if err != nil {
		return v, err
	}
	if from == fromHome {
		return v, nil
	}
	snap, err := decodeSnapshot(v.Document)
	if err != nil {
		return v, err
	}
	if want := a.audience(snap); v.Audience != want {
		return v, fmt.Errorf("%w: the view of revision %d is for service %q; this instance serves %q", errOtherAudience, v.Revision, v.Audience, want)
	}
	return v, nil
}

// errOtherAudience refuses a validly signed view of another service.
var errOtherAudience = errors.New("a view for another service")

// audience is the service this instance's view is for, by snap: home's
// placement when it is as new as snap, else the one home would compute.
func (a *Agent) audience(snap *composition.Snapshot) string {
	if p := a.st.self().Placement; p != nil && p.Revision >= snap.Revision {
		if p.Service != "" {
			return p.Service
		}
		return a.reg.Service
	}
	return registry.Audience(snap, a.reg.Service, a.reg.Labels)
}

// Where a view came from.
const (
	fromHome   = "home"
	fromGossip = "gossip"
	fromCache  = "cache"
)

// learnSigningKey takes home's signing key from a registration reply. A key
// other than the one kept means another home (or a new data dir): the
// agent then takes that home's views whatever their revision.
func (a *Agent) learnSigningKey(encoded string) {
	if encoded == "" {
		a.log.Warn().Msg("home sent no composition signing key: no composition will be accepted (is home older than this agent?)")
		return
	}
	pub, err := pki.ParsePublicKey(encoded)
	if err != nil {
		a.log.Warn().Err(err).Msg("home's composition signing key is malformed: no composition will be accepted")
		return
	}
	changed, err := a.comp.setKey(pub)
	if err != nil {
		a.log.Warn().Err(err).Msg("home's composition signing key is not kept in the cache dir: a restart without home will serve nothing")
	}
	if changed {
		a.log.Info().Str("signing_key", encoded).Msg("home's composition signing key learned")
	}
}

// watchComposition follows home's composition with blocking queries and offers
// every new revision to the cache. While home is down it retries with backoff.
func (a *Agent) watchComposition(ctx context.Context) {
	// Back within a second of home returning.
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for ctx.Err() == nil {
		rev, _ := a.comp.Latest()
		if a.comp.key() == nil || a.comp.awaitingRekeyed() {
			// Nothing verified yet, or home's key changed (another home,
			// a new data dir, its revisions maybe below ours): ask for
			// the newest, whatever its revision, as offer takes it.
			rev = 0
		}
		doc, at, err := a.composition(ctx, rev, 30*time.Second)
		if err == nil && doc == nil && at < rev {
			a.homeBehind(at)
		}
		if err == nil && doc == nil && rev == 0 {
			// Home has no revision yet, and a read at index 0 does not
			// block: pace the asking rather than spin on it.
			if !retry.Wait(ctx) {
				return
			}
			continue
		}
		if err == nil && doc != nil {
			err = a.installComposition(doc, fromHome)
		}
		if err != nil {
			if ctx.Err() == nil {
				a.log.Debug().Err(err).Msg("composition watch")
			}
			if !retry.Wait(ctx) {
				return
			}
			continue
		}
		retry.Reset()
	}
}

// cacheRetryEvery is how often a view in force that the cache dir could
// not take is written again.
const cacheRetryEvery = 5 * time.Second

// keepCacheSaved writes again, every cacheRetryEvery, a view installed
// while the cache dir could not take it (a full disk), until ctx ends.
func (a *Agent) keepCacheSaved(ctx context.Context) {
	t := time.NewTicker(cacheRetryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if saved, err := a.comp.saveUnsaved(); saved {
			rev, _ := a.comp.Latest()
			a.log.Info().Uint64("revision", rev).Msg("composition cached")
		} else if err != nil {
			a.log.Debug().Err(err).Msg("composition still not cached")
		}
	}
}

// installComposition verifies a signed view and, when it is newer, keeps it
// and tells the rest of the agent (and gossip) about it.
func (a *Agent) installComposition(b []byte, from string) error {
	v, err := a.verifyView(b, from)
	if err != nil {
		return a.refused(v, err, from)
	}
	installed, saveErr := a.comp.offer(v, b, from == fromCache)
	if !installed {
		return nil
	}
	a.m.revision.Set(float64(v.Revision))
	a.log.Info().Uint64("revision", v.Revision).Str("service", v.Audience).Str("from", from).Msg("composition updated")
	if saveErr != nil {
		a.log.Error().Err(saveErr).Uint64("revision", v.Revision).Str("cache_dir", a.cfg.CacheDir).
			Msg("composition in force but not cached: restarted while home is down, the agent would serve the revision cached before it; writing it again every 5s")
	}
	if a.onComposition != nil {
		a.onComposition(v.Revision, from)
	}
	return nil
}

// homeBehind tells the operator, once per revision of home's, that home
// serves an older revision than the agent holds: its data dir was restored
// from a backup with its composition.floor (the floor alone would have
// lifted it above every revision it published), or a coordinator sharing
// Consul lags the one whose revision reached the agent by gossip. The
// agent never moves back (DESIGN.md), so none of home's changes reach it
// until home passes the revision it holds; without this line every write
// at home would go nowhere, silently.
func (a *Agent) homeBehind(home uint64) {
	held, _ := a.comp.Latest()
	if home == 0 || home >= held || !a.comp.firstBehind(home) {
		return
	}
	a.log.Error().Uint64("home_revision", home).Uint64("revision", held).
		Msg("home serves a composition revision older than the revision this agent holds: home's data dir was restored from a backup " +
			"together with its composition.floor (or, with --consul, this coordinator has not followed Consul for the 30s wait). Agents never move back, so none of home's changes reach this agent until home passes its revision. " +
			"Way out: stop home, set \"revision\" in DATA_DIR/composition.floor to this agent's revision (or above), and start it: it resumes above, and agents take it " +
			"(back up and restore composition.db alone, never its floor)")
}

// acceptFromPeer is gossip's check of a fetched view: a refused one is
// neither delivered nor served on, and the peer is not asked for it again.
//
// Gossip keeps and serves the view under the revision the peer claimed,
// so the claim must be the view's own signed revision: an old view offered
// as a far higher revision would otherwise hold the node's gossip above
// every real newer one while home is away.
func (a *Agent) acceptFromPeer(rev uint64, b []byte) error {
	v, err := a.verifyView(b, fromGossip)
	if err == nil && v.Revision != rev {
		err = fmt.Errorf("%w: the view of revision %d offered as revision %d", errReplayedView, v.Revision, rev)
	}
	if err != nil {
		return a.refused(v, err, fromGossip)
	}
	return nil
}

// errReplayedView is a genuine view a peer offered under another revision
// than its own: gossip would hold and serve it as that one.
var errReplayedView = errors.New("a peer replayed a view under another revision")

// refused logs why a view was refused and returns the error. A bad
// signature is logged at warn once per revision (someone forged or damaged
// it); a view of another service or one before the key is known, which
// peers of other services offer in the normal course, at debug.
func (a *Agent) refused(v *registry.SignedView, err error, from string) error {
	var rev uint64
	if v != nil {
		rev = v.Revision
	}
	switch {
	case errors.Is(err, pki.ErrBadSignature):
		if a.comp.firstRefusal(rev) {
			a.log.Warn().Err(err).Uint64("revision", rev).Str("from", from).Msg("composition refused: its signature does not verify with home's key")
		}
	case errors.Is(err, errOtherAudience), errors.Is(err, errNoSigningKey):
		a.log.Debug().Err(err).Str("from", from).Msg("composition not taken")
	default:
		a.log.Warn().Err(err).Uint64("revision", rev).Str("from", from).Msg("composition refused")
	}
	return fmt.Errorf("composition from %s: %w", from, err)
}

// composition asks home for the view newer than index, blocking up to
// wait; it returns nil when nothing newer came in time, and home's
// revision (its answer's index) either way.
func (a *Agent) composition(ctx context.Context, index uint64, wait time.Duration) ([]byte, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	return a.home.Composition(ctx, a.ID(), index, wait) // OpenView bounds and checks the view
}

// loadCache takes the cached view, when its signature verifies under the
// kept key and it is for this instance's service. A forged or foreign
// cache file is refused, loudly, and the agent waits for home or a peer.
func (a *Agent) loadCache() {
	b, err := a.comp.loadFiles()
	if err != nil {
		a.log.Warn().Err(err).Msg("ignoring the composition cache")
		return
	}
	if b == nil {
		return
	}
	if err := a.installComposition(b, fromCache); err != nil {
		a.log.Warn().Err(err).Str("cache_dir", a.cfg.CacheDir).Msg("the cached composition is refused: serving nothing until home or a peer has a signed one")
		return
	}
	rev, _ := a.comp.Latest()
	a.log.Info().Uint64("revision", rev).Str("cache_dir", a.cfg.CacheDir).Msg("serving the cached composition until home or a peer has a newer one")
}
