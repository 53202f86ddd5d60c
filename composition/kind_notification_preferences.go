package composition

import (
	"maps"
	"slices"
	"time"
)

// KindNotificationPreferences is the kind of a provider user's
// notification preferences (3scale's Notification Preferences API).
const KindNotificationPreferences Kind = "notification_preferences"

// Notifications lists the notifications a provider user may turn on or off,
// as 3scale's API names them, sorted.
var Notifications = []string{
	"account_created", "account_deleted", "account_plan_change_requested", "application_created",
	"application_plan_change_requested", "cinstance_cancellation", "cinstance_expired_trial", "cinstance_plan_changed",
	"credit_card_unstore_failed", "csv_data_export", "daily_report", "expired_credit_card_provider",
	"invoices_to_review", "limit_alert_reached_provider", "limit_violation_reached_provider", "message_received",
	"plan_downgraded", "service_contract_cancellation", "service_contract_created", "service_contract_plan_changed",
	"service_deleted", "service_plan_change_requested", "unsuccessfully_charged_invoice_final_provider",
	"unsuccessfully_charged_invoice_provider", "weekly_report",
}

// notificationsOffByDefault are the notifications 3scale leaves off until a
// user turns them on; every other is on.
var notificationsOffByDefault = []string{"daily_report", "weekly_report"}

// NotificationPreferences are the notifications one provider user has
// turned on or off. UserID 0 is the provider's access tokens, which belong
// to no user. Only what the user changed is stored; Effective fills in
// 3scale's defaults. Portolan sends no email: it stores and answers them.
type NotificationPreferences struct {
	ID          int64           `json:"id"`
	UserID      int64           `json:"user_id"`
	Preferences map[string]bool `json:"preferences"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func (e *NotificationPreferences) Key() int64 { return e.ID }
func (e *NotificationPreferences) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *NotificationPreferences) created() time.Time { return e.CreatedAt }
func (*NotificationPreferences) info() kindInfo       { return notificationPreferencesDef }

// Effective returns every notification with its setting: p's where it has
// one (p may be nil), else 3scale's default.
func (p *NotificationPreferences) Effective() map[string]bool {
	out := make(map[string]bool, len(Notifications))
	for _, n := range Notifications {
		out[n] = !slices.Contains(notificationsOffByDefault, n)
	}
	if p != nil {
		maps.Copy(out, p.Preferences)
	}
	return out
}

// Notification preferences: one record a user, of a provider user (or of
// no user: 0), naming only known notifications. A user's go with it.
var notificationPreferencesDef = &kindDef[NotificationPreferences, *NotificationPreferences]{
	Kind:     KindNotificationPreferences,
	Table:    func(c *Composition) *Table[*NotificationPreferences] { return &c.NotificationPrefs },
	Document: func(d *Document) *[]*NotificationPreferences { return &d.NotificationPrefs },
	Keep:     func(p, old *NotificationPreferences) { p.UserID = old.UserID },
	Validate: func(c *Composition, p *NotificationPreferences, v *ValidationError) error {
		if p.UserID != 0 {
			if u, ok := c.Users.Get(p.UserID); !ok || u.AccountID != ProviderAccountID {
				return NotFound(KindUser, p.UserID)
			}
		}
		if o, ok := c.NotificationPreferencesOf(p.UserID); ok && o.ID != p.ID {
			v.Add("user_id", taken)
		}
		for _, n := range slices.Sorted(maps.Keys(p.Preferences)) {
			if !slices.Contains(Notifications, n) {
				v.Add("preferences", n+" "+notIncluded)
			}
		}
		return nil
	},
	Import: func(p *NotificationPreferences, ref refFunc) { p.UserID = ref("user_id", p.UserID) },
}

// NotificationPreferencesOf returns the stored preferences of user userID
// (0: the provider's tokens).
func (c *Composition) NotificationPreferencesOf(userID int64) (*NotificationPreferences, bool) {
	return c.NotificationPrefs.Find(func(p *NotificationPreferences) bool { return p.UserID == userID })
}
