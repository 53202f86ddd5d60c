package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/consulacl"
)

// Coordinators sharing a Consul prefix share one webhook outbox; each would
// deliver every event. So on Consul only the holder of a lock, the key
// <prefix>webhooks/leader, delivers, and it stops the moment it may have
// lost the lock. Timing:
//
//   - The session's TTL is Consul's minimum, 10 s: a dead holder's session
//     ends 2×TTL after its last renewal (Consul's grace), the sooner the
//     better for failover.
//   - The holder renews every third of the TTL and stops delivering when no
//     renewal succeeded for a TTL, so one cut off from Consul stops a TTL
//     before Consul may let the lock go, whether or not it hears of it.
//   - The lock delay is one TTL too: after a session ends otherwise than by
//     expiry (its node's serfHealth failing, an operator destroying it) the
//     holder may still be delivering until that renewal fence stops it; the
//     delay keeps the lock from passing before then.
//
// A holder that dies is replaced about 27 to 35 s later (its session ends
// 2×TTL after its last renewal, which came up to a third of a TTL before;
// then the delay, and consul/api's 5 s retry during a lock delay); one that
// stops releases the key, which no lock delay follows, so another takes
// over at once.
const (
	webhookLeaderTTL       = 10 * time.Second
	webhookLeaderLockDelay = webhookLeaderTTL
	webhookLeaderKey       = "webhooks/leader"
)

// errLeadEnded says delivery ended by itself (the store closed): there is
// nothing left to lead.
var errLeadEnded = errors.New("webhook delivery ended")

// webhookLeader runs the webhook delivery only while holding the lock.
type webhookLeader struct {
	client    *consul.Client // clientUntil the delivery's stop
	key       string
	id        string // the coordinator id: the lock's value and session name
	ttl       time.Duration
	lockDelay time.Duration
	// sync brings the store to Consul's newest revision before delivering.
	sync func(context.Context) error
	log  zerolog.Logger
}

// rule is the ACL rule the lock's key needs: the coordinator's own.
func (l *webhookLeader) rule() string {
	return fmt.Sprintf(`key_prefix %q { policy = "write" }`, strings.TrimSuffix(l.key, webhookLeaderKey))
}

// newWebhookLeader makes the lock for the coordinator's Consul prefix;
// stop is the delivery's: its blocking queries end with it.
func (c *Coordinator) newWebhookLeader(stop context.Context, log zerolog.Logger) (*webhookLeader, error) {
	id, err := loadCoordinatorID(c.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	client, err := c.cfg.Consul.clientUntil(stop)
	if err != nil {
		return nil, err
	}
	prefix := c.cfg.Consul.Prefix // a folder, never empty: New resolved it (ConsulPrefix)
	l := &webhookLeader{client: client, key: prefix + webhookLeaderKey, id: id,
		ttl: webhookLeaderTTL, lockDelay: webhookLeaderLockDelay, log: log}
	if s, ok := c.store.(*consulstore.Store); ok {
		l.sync = s.Sync
	}
	return l, nil
}

// run delivers with deliver whenever it holds the lock, until ctx ends or
// deliver returns by itself. deliver must return once its ctx ends.
func (l *webhookLeader) run(ctx context.Context, deliver func(context.Context)) {
	retry := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for ctx.Err() == nil {
		err := l.term(ctx, deliver)
		switch {
		case ctx.Err() != nil, errors.Is(err, errLeadEnded):
			return
		case err != nil:
			l.log.Warn().Err(err).Str("key", l.key).Msg("webhook lock; this coordinator delivers no webhooks until it holds it")
			if !retry.Wait(ctx) {
				return
			}
		default:
			retry.Reset()
		}
	}
}

// term is one session: it waits for the lock, delivers while holding it,
// and reports why it stopped (nil: the lock was lost).
func (l *webhookLeader) term(ctx context.Context, deliver func(context.Context)) error {
	created := time.Now()
	id, _, err := l.client.Session().Create(&consul.SessionEntry{Name: "portolan webhooks " + l.id,
		TTL: l.ttl.String(), LockDelay: l.lockDelay, Behavior: consul.SessionBehaviorRelease},
		(&consul.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("create the Consul session of the webhook lock: %w",
			consulacl.Hint(err, "the coordinator's", `session_prefix "" { policy = "write" }`))
	}
	locked := false
	defer func() { l.end(ctx, id, locked) }()
	held, fence := context.WithCancelCause(ctx)
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		l.renew(held, id, created, fence)
	}()
	defer func() { fence(nil); <-renewing }()

	lock, err := l.client.LockOpts(&consul.LockOptions{Key: l.key, Value: []byte(l.id), Session: id})
	if err != nil {
		return fmt.Errorf("webhook lock %s: %w", l.key, consulacl.Hint(err, "the coordinator's", l.rule()))
	}
	lost, err := lock.Lock(held.Done())
	if err != nil {
		return fmt.Errorf("wait for the webhook lock: %w", err)
	}
	if lost == nil { // stopped, or fenced, while waiting
		return context.Cause(held)
	}
	locked = true
	if l.sync != nil {
		if err := l.sync(held); err != nil {
			return fmt.Errorf("read the newest composition before delivering webhooks: %w", err)
		}
	}
	l.log.Info().Str("key", l.key).Msg("holding the webhook lock: this coordinator delivers the webhooks")

	lead, stop := context.WithCancel(held)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		deliver(lead)
	}()
	var why error
	select {
	case <-lost:
	case <-held.Done():
		why = context.Cause(held)
	case <-delivered:
		why = errLeadEnded
	}
	stop()
	<-delivered
	if ctx.Err() == nil {
		l.log.Warn().AnErr("reason", why).Str("key", l.key).Msg("lost the webhook lock: delivery stopped until it is held again")
	}
	return why
}

// renew keeps session id alive from last, its creation, renewing it every
// third of the TTL (a tenth after a failure). It fences (cancels held)
// when Consul no longer knows the session, or when no renewal has
// succeeded for a TTL; each renewal may take no longer than that.
func (l *webhookLeader) renew(held context.Context, id string, last time.Time, fence context.CancelCauseFunc) {
	var lastErr error
	for {
		deadline := last.Add(l.ttl)
		if !time.Now().Before(deadline) {
			err := fmt.Errorf("the webhook lock's session was not renewed for %s, so Consul may soon hand the lock to another coordinator", l.ttl)
			if lastErr != nil {
				err = fmt.Errorf("%w: %w", err, lastErr)
			}
			fence(err)
			return
		}
		wait := l.ttl / 3
		if lastErr != nil {
			wait = l.ttl / 10
		}
		if !backoff.Sleep(held, min(wait, time.Until(deadline))) {
			return
		}
		if !time.Now().Before(deadline) {
			continue
		}
		sent := time.Now()
		rctx, cancel := context.WithDeadline(held, deadline)
		entry, _, err := l.client.Session().Renew(id, (&consul.WriteOptions{}).WithContext(rctx))
		cancel()
		switch {
		case held.Err() != nil:
			return
		case err != nil:
			lastErr = err
			l.log.Warn().Err(err).Msg("renewing the webhook lock's Consul session; retrying")
		case entry == nil:
			fence(errors.New("the webhook lock's session is gone from Consul (it expired or was destroyed)"))
			return
		default:
			last, lastErr = sent, nil
		}
	}
}

// endWithin bounds, together, releasing the lock and destroying its session
// when a term ends, also once ctx has ended (Stop): with Consul stalled each
// call took the client's whole timeout (10 s), holding a stopping home 20 s,
// past Docker's stop grace (10 s) and level with systemd's. The lock passes
// on with its session's TTL anyway.
const endWithin = 2 * time.Second

// end releases the key when locked, so another coordinator takes over
// without a lock delay (a lock already lost is released already, and its
// release fails harmlessly), then destroys session id. The release is the
// one consul.Lock's Unlock sends (the key, its value and lock flag, with
// the session), given a deadline Unlock takes none of.
func (l *webhookLeader) end(ctx context.Context, id string, locked bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endWithin)
	defer cancel()
	opts := (&consul.WriteOptions{}).WithContext(ctx)
	if locked {
		pair := &consul.KVPair{Key: l.key, Value: []byte(l.id), Session: id, Flags: consul.LockFlagValue}
		if _, _, err := l.client.KV().Release(pair, opts); err != nil {
			l.log.Warn().Err(err).Str("key", l.key).Msg("releasing the webhook lock; it passes on when its session ends")
		}
	}
	if _, err := l.client.Session().Destroy(id, opts); err != nil {
		l.log.Warn().Err(err).Msg("destroying the webhook lock's Consul session; it ends with its TTL")
	}
}
