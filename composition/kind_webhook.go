package composition

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
)

// The kinds of 3scale's webhooks: the provider's settings, the outbox of
// events committed and not yet delivered, and the deliveries that failed.
const (
	KindWebHook        Kind = "webhooks"
	KindWebHookEvent   Kind = "webhook_events"
	KindWebHookFailure Kind = "webhook_failures"
)

// WebHook is the provider's webhook settings, as porta's WebHook model
// keeps them: where events go, whether they go at all, and which. The
// composition holds none until the first update (CurrentWebHook gives
// porta's defaults: all off).
type WebHook struct {
	ID                          int64     `json:"id" wire:"ro"`
	URL                         string    `json:"url"`
	Active                      bool      `json:"active"`
	ProviderActions             bool      `json:"provider_actions"`
	AccountCreatedOn            bool      `json:"account_created_on"`
	AccountUpdatedOn            bool      `json:"account_updated_on"`
	AccountDeletedOn            bool      `json:"account_deleted_on"`
	UserCreatedOn               bool      `json:"user_created_on"`
	UserUpdatedOn               bool      `json:"user_updated_on"`
	UserDeletedOn               bool      `json:"user_deleted_on"`
	ApplicationCreatedOn        bool      `json:"application_created_on"`
	ApplicationUpdatedOn        bool      `json:"application_updated_on"`
	ApplicationDeletedOn        bool      `json:"application_deleted_on"`
	AccountPlanChangedOn        bool      `json:"account_plan_changed_on"`
	ApplicationPlanChangedOn    bool      `json:"application_plan_changed_on"`
	ApplicationUserKeyUpdatedOn bool      `json:"application_user_key_updated_on"`
	ApplicationKeyCreatedOn     bool      `json:"application_key_created_on"`
	ApplicationKeyDeletedOn     bool      `json:"application_key_deleted_on"`
	ApplicationSuspendedOn      bool      `json:"application_suspended_on"`
	ApplicationKeyUpdatedOn     bool      `json:"application_key_updated_on"`
	CreatedAt                   time.Time `json:"created_at" wire:"ro"`
	UpdatedAt                   time.Time `json:"updated_at" wire:"ro"`
}

// Enabled reports whether events of type typ ("account", "user",
// "application") and action ("created", "plan_changed", "key_created"...)
// are sent: porta's WebHook#enabled?, "#{type}_#{event}_on".
func (w *WebHook) Enabled(typ, action string) bool {
	if w == nil || !w.Active {
		return false
	}
	switch typ + "_" + action {
	case "account_created":
		return w.AccountCreatedOn
	case "account_updated":
		return w.AccountUpdatedOn
	case "account_deleted":
		return w.AccountDeletedOn
	case "account_plan_changed":
		return w.AccountPlanChangedOn
	case "user_created":
		return w.UserCreatedOn
	case "user_updated":
		return w.UserUpdatedOn
	case "user_deleted":
		return w.UserDeletedOn
	case "application_created":
		return w.ApplicationCreatedOn
	case "application_updated":
		return w.ApplicationUpdatedOn
	case "application_deleted":
		return w.ApplicationDeletedOn
	case "application_plan_changed":
		return w.ApplicationPlanChangedOn
	case "application_user_key_updated":
		return w.ApplicationUserKeyUpdatedOn
	case "application_key_created":
		return w.ApplicationKeyCreatedOn
	case "application_key_deleted":
		return w.ApplicationKeyDeletedOn
	case "application_key_updated":
		return w.ApplicationKeyUpdatedOn
	case "application_suspended":
		return w.ApplicationSuspendedOn
	}
	return false
}

// CurrentWebHook returns the provider's webhook settings: the newest
// stored, else porta's defaults (stored false).
func (c *Composition) CurrentWebHook() (w *WebHook, stored bool) {
	all := c.WebHooks.All()
	if len(all) == 0 {
		return &WebHook{}, false
	}
	return all[len(all)-1], true
}

func (e *WebHook) Key() int64 { return e.ID }
func (e *WebHook) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *WebHook) created() time.Time { return e.CreatedAt }
func (*WebHook) info() kindInfo       { return webHookDef }

// Webhook settings: porta's URL rule (http or https, when active) and
// length. A receiver's URL may carry its basic-auth credentials
// (https://user:password@receiver): an export without secrets leaves them
// out, as an issuer URL's.
var webHookDef = &kindDef[WebHook, *WebHook]{
	Kind:        KindWebHook,
	Table:       func(c *Composition) *Table[*WebHook] { return &c.WebHooks },
	Document:    func(d *Document) *[]*WebHook { return &d.WebHooks },
	HideSecrets: func(w *WebHook) { w.URL = withoutUserinfo(w.URL) },
	Validate: func(_ *Composition, w *WebHook, v *ValidationError) error {
		if len(w.URL) > 255 {
			v.Add("url", "is too long (maximum is 255 characters)")
		}
		if w.Active {
			u, err := url.Parse(w.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.Add("url", "is invalid")
			}
		}
		return nil
	},
}

// WebHookEvent is one event of the outbox: written in the revision of the
// change it reports, removed once its URL answered 2xx (or, after the last
// try, moved to the failures). XML is porta's event document, rendered at
// commit time: the object as it was then.
type WebHookEvent struct {
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	Action    string    `json:"action"`
	URL       string    `json:"url"`
	XML       string    `json:"xml"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (e *WebHookEvent) Key() int64 { return e.ID }
func (e *WebHookEvent) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *WebHookEvent) created() time.Time { return e.CreatedAt }
func (*WebHookEvent) info() kindInfo       { return webHookEventDef }

// An event's document is porta's, whose application carries its keys: an
// export without secrets leaves it out, and its receiver's credentials.
var webHookEventDef = &kindDef[WebHookEvent, *WebHookEvent]{
	Kind:        KindWebHookEvent,
	Table:       func(c *Composition) *Table[*WebHookEvent] { return &c.WebHookEvents },
	Document:    func(d *Document) *[]*WebHookEvent { return &d.WebHookEvents },
	HideSecrets: func(e *WebHookEvent) { e.XML, e.URL = "", withoutUserinfo(e.URL) },
}

// homeState marks the entities that are the state of the home holding
// them, not of the composition: an event of the outbox is to be delivered
// by the home that committed it, once. An import leaves them out, or the
// home it goes to would deliver them a second time.
type homeState interface{ homeState() }

func (*WebHookEvent) homeState() {}

// importCarries reports whether an import carries e: not when e is the state of
// the home that exported it (an undelivered webhook event).
func importCarries(e Entity) bool {
	_, local := e.(homeState)
	return !local
}

// WebHookFailure is a delivery that failed its last try, as porta's
// WebHookFailures lists it: a uuid, when, why, where, and the event.
type WebHookFailure struct {
	ID        int64     `json:"id"`
	UUID      string    `json:"uuid"`
	Time      time.Time `json:"time"`
	Error     string    `json:"error"`
	URL       string    `json:"url"`
	Event     string    `json:"event"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (e *WebHookFailure) Key() int64 { return e.ID }
func (e *WebHookFailure) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *WebHookFailure) created() time.Time { return e.CreatedAt }
func (*WebHookFailure) info() kindInfo       { return webHookFailureDef }

// A failure is imported, unlike an event: it is a record an operator reads
// (and redelivers from by hand), not a delivery home makes. Its event
// document carries keys as an event's does: an export without secrets
// leaves it out, and its receiver's credentials.
var webHookFailureDef = &kindDef[WebHookFailure, *WebHookFailure]{
	Kind:        KindWebHookFailure,
	Table:       func(c *Composition) *Table[*WebHookFailure] { return &c.WebHookFailures },
	Document:    func(d *Document) *[]*WebHookFailure { return &d.WebHookFailures },
	HideSecrets: func(e *WebHookFailure) { e.Event, e.URL = "", withoutUserinfo(e.URL) },
}

// maxFailureDrops bounds the failures one write drops (AddWebHookFailure).
const maxFailureDrops = 8

// AddWebHookFailure records f (a new uuid when it has none), keeping at
// most limit failures: the oldest (by time, then id) leave in the same
// revision, at most maxFailureDrops of them, so that a bound lowered far
// below what is kept is reached over the next failures rather than by one
// write larger than a Consul transaction takes (64 operations). It returns
// how many left, for the caller to count and log. Every writer of a
// failure goes through it, so the table stays bounded whoever writes, and
// two writers cannot race past it: their transactions are serialized.
func (tx *Tx) AddWebHookFailure(f *WebHookFailure, limit int) (dropped int, err error) {
	limit = max(limit, 1)
	t := &tx.c.WebHookFailures
	if over := min(t.Len()-limit+1, maxFailureDrops); over > 0 {
		for _, old := range oldestFailures(t, over) {
			if err := tx.Delete(KindWebHookFailure, old.ID); err != nil {
				return dropped, err
			}
			dropped++
		}
	}
	if f.UUID == "" {
		f.UUID = uuid.NewString()
	}
	if err := tx.Create(f); err != nil {
		return dropped, fmt.Errorf("record webhook failure: %w", err)
	}
	return dropped, nil
}

// oldestFailures returns the n oldest failures of t. One (the usual case:
// the table at its bound) is found in one pass; more (a lowered bound, an
// import larger than it) are sorted once.
func oldestFailures(t *Table[*WebHookFailure], n int) []*WebHookFailure {
	older := func(a, b *WebHookFailure) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	}
	if n == 1 {
		var oldest *WebHookFailure
		for _, f := range t.items {
			if oldest == nil || older(f, oldest) < 0 {
				oldest = f
			}
		}
		return []*WebHookFailure{oldest}
	}
	all := t.All()
	slices.SortFunc(all, older)
	return all[:min(n, len(all))]
}

// QueueWebHookEvent adds ev to the outbox unless it holds limit events
// already. Then ev is not queued but recorded at once as a failure (kept
// within failureLimit, see AddWebHookFailure) that says since when the
// receiver has taken nothing: the events queued keep their commit order,
// the one in flight is not touched, and the operator finds the event among
// the failures, whose document it keeps for a redelivery by hand.
func (tx *Tx) QueueWebHookEvent(ev *WebHookEvent, limit, failureLimit int) (queued bool, dropped int, err error) {
	limit = max(limit, 1)
	t := &tx.c.WebHookEvents
	if t.Len() < limit {
		return true, 0, tx.Create(ev)
	}
	since := tx.now
	for _, e := range t.items {
		since = minTime(since, e.CreatedAt)
	}
	why := fmt.Sprintf("outbox full: the receiver has not taken events for %s (since %s), so %d are waiting; "+
		"this %s %s event was not queued: redeliver it from here once the receiver answers",
		tx.now.Sub(since).Round(time.Second), since.UTC().Format(time.RFC3339), t.Len(), ev.Type, ev.Action)
	dropped, err = tx.AddWebHookFailure(&WebHookFailure{Time: tx.now, Error: why, URL: ev.URL, Event: ev.XML}, failureLimit)
	return false, dropped, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
