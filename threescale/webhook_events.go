package threescale

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"

	"github.com/portolan/portolan/composition"
)

// withWebhooks wraps a write so that, in the same transaction, it adds to
// the outbox one event per change the webhook settings turn on: the outbox
// entry commits (or fails) with the change it reports. The outbox is
// bounded in that transaction too (Caps.WebhookEvents): an event it has no
// room for is recorded as a failure instead, and failures keep the newest
// Caps.WebhookFailures. What that cost is kept in tally, started over at
// each run (a store may run a write again after losing a check-and-set),
// and counted by the caller once the write commits (countWebhooks): an
// event is given up only by a write that committed, once.
func (a *API) withWebhooks(fn func(*composition.Tx) error, tally *webhookTally) func(*composition.Tx) error {
	events, failures := a.webhookCap(composition.KindWebHookEvent), a.webhookCap(composition.KindWebHookFailure)
	return func(tx *composition.Tx) error {
		*tally = webhookTally{}
		if err := fn(tx); err != nil {
			return err
		}
		wh, _ := tx.View().CurrentWebHook()
		if !wh.Active || !wh.ProviderActions {
			return nil
		}
		for _, ev := range webhookEvents(tx.Base(), tx.View(), tx.Changes()) {
			if !wh.Enabled(ev.typ, ev.action) {
				continue
			}
			doc, err := eventXML(ev.action, ev.typ, ev.object)
			if err != nil {
				return err
			}
			queued, dropped, err := tx.QueueWebHookEvent(&composition.WebHookEvent{Type: ev.typ, Action: ev.action, URL: wh.URL, XML: doc},
				events.limit, failures.limit)
			if err != nil {
				return fmt.Errorf("queue webhook event %s %s: %w", ev.typ, ev.action, err)
			}
			if !queued {
				tally.refused++
			}
			tally.dropped += uint64(dropped)
		}
		return nil
	}
}

// webhookTally is what one run of a write gave up to the webhook caps:
// events recorded straight as failures for a full outbox (refused), and
// the oldest failures that made room for newer ones (dropped).
type webhookTally struct{ refused, dropped uint64 }

// countWebhooks adds a committed write's tally to WebhookDrops' counts.
func (a *API) countWebhooks(t webhookTally) {
	a.webhookCap(composition.KindWebHookEvent).given.add(t.refused)
	a.webhookCap(composition.KindWebHookFailure).given.add(t.dropped)
}

// webhookEvent is one event a change makes: object is what porta puts in
// <object>, the entity as it is after the change (before it, for a delete).
type webhookEvent struct {
	typ, action string
	object      func(*bytes.Buffer) error
}

// webhookEvents lists, in the order of changes, the events porta fires for
// them: developer accounts, their users and applications.
func webhookEvents(base, next *composition.Composition, changes []composition.Change) []webhookEvent {
	var out []webhookEvent
	add := func(typ, action string, object func(*bytes.Buffer) error) {
		out = append(out, webhookEvent{typ: typ, action: action, object: object})
	}
	for _, ch := range changes {
		switch ch.Kind {
		case composition.KindAccount:
			old, _ := base.Accounts.Get(ch.ID)
			cur, _ := ch.Entity.(*composition.Account)
			if ch.ID == composition.ProviderAccountID {
				continue
			}
			switch {
			case cur == nil && old != nil:
				add("account", "deleted", entityXML("account", old))
			case cur != nil && old == nil:
				add("account", "created", entityXML("account", cur))
			case cur != nil && old.PlanID != cur.PlanID:
				add("account", "plan_changed", entityXML("account", cur))
			case cur != nil:
				add("account", "updated", entityXML("account", cur))
			}
		case composition.KindUser:
			old, _ := base.Users.Get(ch.ID)
			cur, _ := ch.Entity.(*composition.User)
			switch {
			case cur == nil && old != nil && old.AccountID != composition.ProviderAccountID:
				add("user", "deleted", entityXML("user", old))
			case cur != nil && cur.AccountID == composition.ProviderAccountID:
			case cur != nil && old == nil:
				add("user", "created", entityXML("user", cur))
			case cur != nil:
				add("user", "updated", entityXML("user", cur))
			}
		case composition.KindApplication:
			old, _ := base.Applications.Get(ch.ID)
			cur, _ := ch.Entity.(*composition.Application)
			switch {
			case cur == nil && old != nil:
				add("application", "deleted", appXML(base, old))
			case cur != nil && old == nil:
				add("application", "created", appXML(next, cur))
			case cur != nil:
				for _, action := range applicationActions(old, cur) {
					add("application", action, appXML(next, cur))
				}
			}
		}
	}
	return out
}

// applicationActions are the events an application's update fires: one
// for each of porta's particular changes it makes, else "updated".
func applicationActions(old, cur *composition.Application) []string {
	var out []string
	if old.PlanID != cur.PlanID {
		out = append(out, "plan_changed")
	}
	if old.UserKey != cur.UserKey {
		out = append(out, "user_key_updated")
	}
	for _, k := range cur.AppKeys {
		if !slices.Contains(old.AppKeys, k) {
			out = append(out, "key_created")
		}
	}
	for _, k := range old.AppKeys {
		if !slices.Contains(cur.AppKeys, k) {
			out = append(out, "key_deleted")
		}
	}
	if cur.State == composition.AppSuspended && old.State != composition.AppSuspended {
		out = append(out, "suspended")
	}
	if len(out) == 0 {
		out = append(out, "updated")
	}
	return out
}

func entityXML(name string, v any) func(*bytes.Buffer) error {
	return func(buf *bytes.Buffer) error {
		var b bytes.Buffer
		if err := (Encoder{Format: XML}).One(&b, name, v); err != nil {
			return err
		}
		buf.WriteString(withoutXMLProlog(b.String()))
		return nil
	}
}

func appXML(s *composition.Composition, app *composition.Application) func(*bytes.Buffer) error {
	version := "1"
	if svc, ok := s.Services.Get(app.ServiceID); ok {
		version = svc.BackendVersion
	}
	return entityXML("application", newAppWire(app, version, XML))
}

// eventXML is porta's event document:
// <event><action/><type/><object><account>...</account></object></event>.
func eventXML(action, typ string, object func(*bytes.Buffer) error) (string, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header[:len(xml.Header)-1])
	fmt.Fprintf(&buf, "<event><action>%s</action><type>%s</type><object>", action, typ)
	if err := object(&buf); err != nil {
		return "", fmt.Errorf("encoding the %s of a webhook event: %w", typ, err)
	}
	buf.WriteString("</object></event>")
	return buf.String(), nil
}
