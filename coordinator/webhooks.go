package coordinator

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/threescale"
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

	// maxFailures bounds the failures kept (threescale.Caps.WebhookFailures;
	// 0: the default); dropped counts the oldest given up for a new one.
	maxFailures int
	dropped     func(n int)
}

// newWebhookClient is the delivery's HTTP client. It follows no redirect:
// porta's worker (RestClient) follows none for a POST either, so a 3xx is a
// failed try, and a receiver cannot send the event, application keys
// included, on to another host or from https down to plain http. It never
// connects to a link-local, multicast or unspecified address
// (refuseWebhookDial), and reads at most maxWebhookAnswerHead bytes of an
// answer's head.
func newWebhookClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxResponseHeaderBytes = maxWebhookAnswerHead
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refuseWebhookDial}).DialContext
	return &http.Client{Timeout: timeout, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// A receiver words its answer: maxWebhookAnswerHead bounds the head read
// of it, and maxWebhookErrorText the text of a failed try that its answer
// (a status line, a malformed head) makes, as logged and as kept among the
// failures, in every revision of the composition: one receiver's answers
// cannot make each failure megabytes large.
const (
	maxWebhookAnswerHead = 64 << 10
	maxWebhookErrorText  = 512
)

// clippedError is an error whose text is cut at maxWebhookErrorText bytes.
type clippedError struct{ err error }

func (e clippedError) Error() string { return clipText(e.err.Error(), maxWebhookErrorText) }
func (e clippedError) Unwrap() error { return e.err }

// clipText cuts s to at most n bytes, on a rune boundary, marking the cut.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// errWebhookAddr refuses a receiver where cloud metadata services answer
// (policy.ForbiddenProxyAddr: the gateway's rule for where no setting may
// lead): whoever may set the URL would have home POST there and learn, from
// the failure, how it answered.
var errWebhookAddr = errors.New("is a link-local, multicast or unspecified address (cloud metadata services answer there): " +
	"webhook events are never delivered to one; give the receiver's own address (PUT /admin/api/webhooks.json)")

// refuseWebhookDial is the delivery's dialer Control: whatever a receiver's
// name resolved to, no connection is made to an address errWebhookAddr
// refuses.
func refuseWebhookDial(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("webhook receiver address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook receiver address %q is not an IP address", address)
	}
	if policy.ForbiddenProxyAddr(ip) {
		return fmt.Errorf("%s %w", ip, errWebhookAddr)
	}
	return nil
}

// webhookHostAddr is the address a URL's host names, if it names one: an
// IP address, or an IPv4 address in one of inet_aton(3)'s other forms
// (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518), which
// getaddrinfo, curl and the forward proxies built on them take for that
// address, with or without DNS's trailing root dot. Through a proxy the
// host is all home can judge, so each form must be seen for what it is.
func webhookHostAddr(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(host, ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var addr uint32
	for i, part := range parts {
		// Each part but the last is one byte; the last fills the rest.
		bits := 8
		if i == len(parts)-1 {
			bits = 32 - 8*i
		}
		n, ok := inetAtonPart(part, bits)
		if !ok {
			return netip.Addr{}, false
		}
		addr = addr<<bits | n
	}
	return netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}), true
}

// inetAtonPart reads one part of an inet_aton(3) address, of at most bits
// bits: hexadecimal after 0x, octal after a leading 0, else decimal.
func inetAtonPart(s string, bits int) (uint32, bool) {
	base := 10
	switch {
	case len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseUint(s, base, bits)
	return uint32(n), err == nil
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
	_, maxFailures := c.api.WebhookBounds()
	d := &webhookDelivery{store: c.store, cfg: cfg, client: newWebhookClient(cfg.Timeout), log: log,
		maxFailures: maxFailures, dropped: c.api.CountWebhookFailuresDropped}
	if err := c.metrics.Register(webhookCollector{c.store, c.api}); err != nil {
		log.Warn().Err(err).Msg("the webhook outbox's metrics are not served")
	}
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
	done, reported := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	go func() {
		defer close(reported)
		reportWebhookDrops(ctx, c.api, time.Minute, log)
	}()
	return func() { cancel(); <-done; <-reported; d.client.CloseIdleConnections() }
}

// reportWebhookDrops logs, at most once every interval, the events a full
// outbox turned into failures and the oldest failures dropped since the
// last report: each is counted in the metrics, but an operator reading
// only the log learns of them too, without a line per event.
func reportWebhookDrops(ctx context.Context, api *threescale.API, every time.Duration, log zerolog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var refused, dropped uint64 // from 0: counts made before Run are reported too
	maxEvents, maxFailures := api.WebhookBounds()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r, d := api.WebhookDrops()
		if r > refused {
			log.Warn().Uint64("events", r-refused).Int("max_webhook_events", maxEvents).Msg("the webhook outbox is full: " +
				"these events were not queued but listed at once in GET /admin/api/webhooks/failures.json; " +
				"check the receiver (PUT /admin/api/webhooks.json), or raise --max-webhook-events")
		}
		if d > dropped {
			log.Warn().Uint64("failures", d-dropped).Int("max_webhook_failures", maxFailures).Msg("the oldest webhook failures were dropped " +
				"to keep the newest: redeliver or delete failures (DELETE /admin/api/webhooks/failures.json), or raise --max-webhook-failures")
		}
		refused, dropped = r, d
	}
}

// webhookCollector serves the outbox's size and what its bounds cost.
type webhookCollector struct {
	store composition.Store
	api   *threescale.API
}

var (
	webhookOutboxDesc = prometheus.NewDesc("portolan_webhook_outbox_events",
		"Webhook events committed and not yet delivered (at most --max-webhook-events).", nil, nil)
	webhookFailuresDesc = prometheus.NewDesc("portolan_webhook_failures",
		"Webhook deliveries failed and kept (at most --max-webhook-failures).", nil, nil)
	webhookRefusedDesc = prometheus.NewDesc("portolan_webhook_events_refused_total",
		"Webhook events recorded straight as failures because the outbox was full.", nil, nil)
	webhookDroppedDesc = prometheus.NewDesc("portolan_webhook_failures_dropped_total",
		"Oldest webhook failures dropped to keep the newest --max-webhook-failures.", nil, nil)
)

func (webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{webhookOutboxDesc, webhookFailuresDesc, webhookRefusedDesc, webhookDroppedDesc} {
		ch <- d
	}
}

func (w webhookCollector) Collect(ch chan<- prometheus.Metric) {
	snap := w.store.Snapshot()
	refused, dropped := w.api.WebhookDrops()
	ch <- prometheus.MustNewConstMetric(webhookOutboxDesc, prometheus.GaugeValue, float64(snap.WebHookEvents.Len()))
	ch <- prometheus.MustNewConstMetric(webhookFailuresDesc, prometheus.GaugeValue, float64(snap.WebHookFailures.Len()))
	ch <- prometheus.MustNewConstMetric(webhookRefusedDesc, prometheus.CounterValue, float64(refused))
	ch <- prometheus.MustNewConstMetric(webhookDroppedDesc, prometheus.CounterValue, float64(dropped))
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
	shown := cmp.Or(redact.URL(ev.URL), "(the webhook URL, hidden: it may hold a credential)")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.URL, bytes.NewReader([]byte(ev.XML)))
	if err != nil {
		return fmt.Errorf("webhook URL %s is invalid: fix it with PUT /admin/api/webhooks.json", shown)
	}
	// An address in the URL itself is refused here too: through a proxy
	// (HTTPS_PROXY) the dialer sees the proxy's address only.
	if ip, ok := webhookHostAddr(req.URL.Hostname()); ok && policy.ForbiddenProxyAddr(ip) {
		return fmt.Errorf("webhook URL %s: %s %w", shown, ip, errWebhookAddr)
	}
	req.Header.Set("Content-Type", "text/xml")
	d.warnClearText(ev.URL, shown)
	resp, err := d.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its URL keeps the query
		}
		return fmt.Errorf("webhook POST %s: %w", shown, clippedError{err})
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook POST %s: answered %s", shown, clipText(resp.Status, maxWebhookErrorText))
	}
	return nil
}

// settle removes ev from the outbox, recording failed as a failure when
// set (the oldest failures giving way past maxFailures, in the same
// revision), retrying the write with backoff until it commits.
func (d *webhookDelivery) settle(ctx context.Context, b *backoff.Backoff, ev *composition.WebHookEvent, failed error) bool {
	limit := cmp.Or(d.maxFailures, threescale.DefaultMaxWebhookFailures)
	for {
		dropped := 0
		_, err := d.store.Update(ctx, func(tx *composition.Tx) error {
			dropped = 0
			if _, ok := tx.View().WebHookEvents.Get(ev.ID); !ok {
				return nil // settled already
			}
			if err := tx.Delete(composition.KindWebHookEvent, ev.ID); err != nil {
				return err
			}
			if failed == nil {
				return nil
			}
			var err error
			dropped, err = tx.AddWebHookFailure(&composition.WebHookFailure{Time: tx.Now(), Error: failed.Error(), URL: ev.URL, Event: ev.XML}, limit)
			return err
		})
		if err == nil {
			if d.dropped != nil {
				d.dropped(dropped)
			}
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
