package threescale

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// Webhooks (3scale's Webhooks API): the provider's webhook settings, and
// the deliveries that failed. Every write of the API that creates, updates
// or deletes a developer account, a developer user or an application adds,
// in the same revision, one outbox entry (composition.WebHookEvent) per
// event the settings turn on, holding porta's XML event document; the
// coordinator delivers the outbox (coordinator/webhooks.go). Every change
// through this API is a provider action, so, as in 3scale, events go only
// when provider_actions is on.

// webhookCap is the cap of a webhook kind: SetCaps', else the default.
func (a *API) webhookCap(k composition.Kind) capped {
	caps := a.caps
	if caps == nil {
		caps = Caps{}.list()
	}
	for _, c := range caps {
		if c.kind == k {
			return c
		}
	}
	panic("threescale: no cap for " + string(k))
}

// WebhookBounds returns the most events the outbox holds and the most
// failures kept (Caps.WebhookEvents, Caps.WebhookFailures).
func (a *API) WebhookBounds() (events, failures int) {
	return a.webhookCap(composition.KindWebHookEvent).limit, a.webhookCap(composition.KindWebHookFailure).limit
}

// WebhookDrops returns, since SetCaps, how many events were recorded
// straight as failures for a full outbox (refused), and how many of the
// oldest failures left to keep the newest (dropped), by this API's writes
// and those counted with CountWebhookFailuresDropped. Both saturate.
func (a *API) WebhookDrops() (refused, dropped uint64) {
	return a.webhookCap(composition.KindWebHookEvent).given.load(), a.webhookCap(composition.KindWebHookFailure).given.load()
}

// CountWebhookFailuresDropped counts n failures dropped by a writer other
// than the API (the coordinator's delivery), so WebhookDrops has them all.
func (a *API) CountWebhookFailuresDropped(n int) {
	if n > 0 {
		a.webhookCap(composition.KindWebHookFailure).given.add(uint64(n))
	}
}

func (a *API) webhookRoutes() []Route {
	const tag = "Webhooks"
	formats := []Format{JSON, XML}
	return []Route{
		{Method: http.MethodPut, Path: "/admin/api/webhooks", Tag: tag, Summary: "WebHooks Update", Formats: formats, handle: updateWebHook},
		{Method: http.MethodGet, Path: "/admin/api/webhooks/failures", Tag: tag, Summary: "Webhooks List Failed Deliveries", Formats: formats, handle: listWebHookFailures},
		{Method: http.MethodDelete, Path: "/admin/api/webhooks/failures", Tag: tag, Summary: "Webhooks Delete Failed Deliveries", Formats: formats, handle: deleteWebHookFailures},
	}
}

func updateWebHook(c *call) error {
	var out composition.WebHook
	_, err := c.update(func(tx *composition.Tx) error {
		cur, stored := tx.View().CurrentWebHook()
		out = *cur
		if err := c.bind(&out, false); err != nil {
			return err
		}
		if stored {
			return tx.Update(&out)
		}
		return tx.Create(&out)
	})
	if err != nil {
		return err
	}
	return c.one("webhook", &out)
}

// webHookFailureWire is a failure as porta renders it: its id is the
// delivery's uuid, its event the XML document (embedded as XML, not
// escaped, in the XML rendering).
type webHookFailureWire struct {
	ID    string `json:"id"`
	Time  string `json:"time"`
	Error string `json:"error"`
	URL   string `json:"url"`
	Event string `json:"event"`
}

func listWebHookFailures(c *call) error {
	fs := c.snapshot().WebHookFailures.All()
	slices.SortStableFunc(fs, func(a, b *composition.WebHookFailure) int { return a.Time.Compare(b.Time) })
	if c.format == XML {
		var buf bytes.Buffer
		buf.WriteString(xml.Header[:len(xml.Header)-1])
		buf.WriteString("<webhooks-failures>")
		for _, f := range fs {
			buf.WriteString("<webhooks-failure>")
			for _, kv := range [][2]string{{"id", f.UUID}, {"time", f.Time.UTC().Format(timeLayout)}, {"error", f.Error}, {"url", f.URL}} {
				fmt.Fprintf(&buf, "<%s>", kv[0])
				if err := xml.EscapeText(&buf, []byte(kv[1])); err != nil {
					return fmt.Errorf("encoding webhook failure: %w", err)
				}
				fmt.Fprintf(&buf, "</%s>", kv[0])
			}
			buf.WriteString(withoutXMLProlog(f.Event))
			buf.WriteString("</webhooks-failure>")
		}
		buf.WriteString("</webhooks-failures>")
		c.w.Header().Set("Content-Type", c.format.ContentType())
		c.w.WriteHeader(http.StatusOK)
		_, err := c.w.Write(buf.Bytes())
		return err
	}
	items := make([]webHookFailureWire, len(fs))
	for i, f := range fs {
		items[i] = webHookFailureWire{ID: f.UUID, Time: f.Time.UTC().Format(timeLayout), Error: f.Error, URL: f.URL, Event: f.Event}
	}
	return c.list("webhooks-failures", "webhooks-failure", items)
}

// deleteWebHookFailures deletes every failure, or with time those at or
// before it.
func deleteWebHookFailures(c *call) error {
	var until time.Time
	if v, ok := c.params.Get("time"); ok && v != "" {
		t, err := parseFailureTime(v)
		if err != nil {
			return BadRequest("time is invalid: send a date-time such as 2024-01-31T12:00:00Z")
		}
		until = t
	}
	_, err := c.update(func(tx *composition.Tx) error {
		for _, f := range tx.View().WebHookFailures.All() {
			if until.IsZero() || !f.Time.After(until) {
				if err := tx.Delete(composition.KindWebHookFailure, f.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.empty()
}

// parseFailureTime reads the time forms porta's Time.parse takes most often.
func parseFailureTime(v string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

func withoutXMLProlog(doc string) string {
	if strings.HasPrefix(doc, "<?xml") {
		if i := strings.Index(doc, "?>"); i >= 0 {
			return doc[i+2:]
		}
	}
	return doc
}
