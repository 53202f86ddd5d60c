package coordinator

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
)

// WebhookConfig paces the delivery of webhook events (3scale's Webhooks).
// Zero fields take the defaults: 5 tries, as 3scale makes, 1 s to 60 s
// apart (3scale waits 60 s), and 10 s for the receiver to answer.
type WebhookConfig struct {
	Attempts   int
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Timeout    time.Duration
}

func (w WebhookConfig) withDefaults() WebhookConfig {
	if w.Attempts <= 0 {
		w.Attempts = 5
	}
	if w.MinBackoff <= 0 {
		w.MinBackoff = time.Second
	}
	if w.MaxBackoff <= 0 {
		w.MaxBackoff = time.Minute
	}
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	return w
}

// webhookDelivery delivers the store's webhook outbox: the oldest event
// first, one at a time, so a receiver sees them in commit order. An event
// leaves the outbox only after its URL answered 2xx, or, after the last
// try, into the failures (GET /admin/api/webhooks/failures.json), in one
// revision. A coordinator killed before that delivers it again when it
// starts (on Consul: the next holder of the webhook lock does): delivery is
// at least once, and exactly once unless the kill falls between the
// receiver's 2xx and the removal's commit.
type webhookDelivery struct {
	store  composition.Store
	cfg    WebhookConfig
	client *http.Client
	log    zerolog.Logger

	clearWarned map[string]bool // receivers warned of as plain http off loopback (warnClearText)
}

// newWebhookClient is the delivery's HTTP client. It follows no redirect:
// porta's worker (RestClient) follows none for a POST either, so a 3xx is a
// failed try, and a receiver cannot send the event, application keys
// included, on to another host or from https down to plain http.
func newWebhookClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// maxClearWarned bounds the receivers remembered as warned of; past it the
// memory starts over (and they are warned of again).
const maxClearWarned = 1024

// warnClearText logs, once per receiver, that an event goes to it in plain
// http beyond this host: 3scale delivers there too, so it is not refused,
// but application events carry the applications' keys.
func (d *webhookDelivery) warnClearText(rawURL, shown string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || loopback.Host(u.Hostname()) || d.clearWarned[shown] {
		return
	}
	if d.clearWarned == nil || len(d.clearWarned) >= maxClearWarned {
		d.clearWarned = make(map[string]bool)
	}
	d.clearWarned[shown] = true
	d.log.Warn().Str("url", shown).Msg("webhook events go to this receiver in plain http: " +
		"what they carry, application keys included, crosses the network in clear; give it an https:// URL (PUT /admin/api/webhooks.json)")
}

// startWebhooks runs the delivery loop until the returned stop is called:
// always with bbolt, only while holding the webhook lock on Consul (see
// webhookLeader), so that coordinators sharing an outbox deliver each event
// once. stop releases the lock.
func (c *Coordinator) startWebhooks() (stop func()) {
	cfg := c.cfg.Webhooks.withDefaults()
	log := c.cfg.Logger.With().Str("component", "webhooks").Logger()
	d := &webhookDelivery{store: c.store, cfg: cfg, client: newWebhookClient(cfg.Timeout), log: log}
	ctx, cancel := context.WithCancel(context.Background())
	run := d.run
	if c.cfg.Consul != nil {
		leader, err := c.newWebhookLeader(ctx, log)
		if err != nil {
			// Delivering without the lock would send every event once per
			// coordinator; the outbox keeps them for a coordinator that can.
			log.Error().Err(err).Msg("this coordinator delivers no webhooks: it cannot take the webhook lock in Consul")
			run = func(context.Context) {}
		} else {
			run = func(ctx context.Context) { leader.run(ctx, d.run) }
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() { cancel(); <-done }
}

// run delivers the outbox until ctx ends or the store closes.
func (d *webhookDelivery) run(ctx context.Context) {
	for ctx.Err() == nil {
		snap := d.store.Snapshot()
		events := snap.WebHookEvents.All()
		if len(events) == 0 {
			if _, err := d.store.Wait(ctx, snap.Revision); err != nil {
				return // ctx ended or the store closed
			}
			continue
		}
		if !d.deliver(ctx, events[0]) {
			return
		}
	}
}

// deliver tries ev until it is delivered or its tries run out, then takes
// it out of the outbox. It reports false when ctx ended or the store closed.
func (d *webhookDelivery) deliver(ctx context.Context, ev *composition.WebHookEvent) bool {
	b := backoff.Backoff{Min: d.cfg.MinBackoff, Max: d.cfg.MaxBackoff}
	for attempt := 1; ; attempt++ {
		err := d.post(ctx, ev)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			return d.settle(ctx, &b, ev, nil)
		}
		d.log.Warn().Err(err).Int64("event", ev.ID).Int("attempt", attempt).Msg("webhook delivery failed")
		if attempt >= d.cfg.Attempts {
			return d.settle(ctx, &b, ev, err)
		}
		if !b.Wait(ctx) {
			return false
		}
	}
}

// post sends ev's XML document to its URL and accepts only a 2xx. Its
// errors, logged and kept in the failures, name the URL without its user
// info, query or fragment: receivers take their secret there.
func (d *webhookDelivery) post(ctx context.Context, ev *composition.WebHookEvent) error {
	shown := cmp.Or(redact.URL(ev.URL), "(unparsable URL)")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.URL, bytes.NewReader([]byte(ev.XML)))
	if err != nil {
		return fmt.Errorf("webhook URL %s is invalid: fix it with PUT /admin/api/webhooks.json", shown)
	}
	req.Header.Set("Content-Type", "text/xml")
	d.warnClearText(ev.URL, shown)
	resp, err := d.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its URL keeps the query
		}
		return fmt.Errorf("webhook POST %s: %w", shown, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook POST %s: answered %s", shown, resp.Status)
	}
	return nil
}

// settle removes ev from the outbox, recording failed as a failure when
// set, retrying the write with backoff until it commits.
func (d *webhookDelivery) settle(ctx context.Context, b *backoff.Backoff, ev *composition.WebHookEvent, failed error) bool {
	for {
		_, err := d.store.Update(ctx, func(tx *composition.Tx) error {
			if _, ok := tx.View().WebHookEvents.Get(ev.ID); !ok {
				return nil // settled already
			}
			if err := tx.Delete(composition.KindWebHookEvent, ev.ID); err != nil {
				return err
			}
			if failed == nil {
				return nil
			}
			return tx.Create(&composition.WebHookFailure{UUID: newUUID(), Time: tx.Now(), Error: failed.Error(), URL: ev.URL, Event: ev.XML})
		})
		if err == nil {
			return true
		}
		if errors.Is(err, composition.ErrClosed) || ctx.Err() != nil {
			return false
		}
		d.log.Error().Err(err).Int64("event", ev.ID).Msg("removing a delivered webhook event from the outbox failed; retrying")
		if !b.Wait(ctx) {
			return false
		}
	}
}

// newUUID is a random (version 4) UUID: the id porta gives a failure.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
