package threescale

import (
	"maps"
	"net/http"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// Notification Preferences: which emails the current admin user gets, as
// {"notification_preferences":{"account_created":true,...}} with every
// notification 3scale offers, its default where the user set none. An
// update changes the notifications it names, each a boolean, and ignores
// the rest (porta permits only the known ones). Portolan sends no email:
// it stores and answers them.
//
// The current user is the owner of the access token, as porta's
// current_user: a provider user's token reads and changes that user's
// preferences; a token of no user (the bootstrap token, the provider
// admin's personal tokens) those of user 0, kept apart from those of the
// provider users.

func (a *API) notificationPreferenceRoutes() []Route {
	const tag, path = "Notification Preferences", "/admin/api/personal/notification_preferences"
	return []Route{
		{Method: http.MethodGet, Path: path, Tag: tag, Summary: "Notification Preferences List", handle: listNotificationPreferences},
		{Method: http.MethodPatch, Path: path, Tag: tag, Summary: "Notification Preferences Update", handle: updateNotificationPreferences},
	}
}

// currentUserID is the provider user a request acts as: its token's user,
// 0 for a token of no user.
func currentUserID(c *call) int64 {
	g, _ := GrantFrom(c.r.Context())
	return g.UserID
}

func writeNotificationPreferences(c *call, p *composition.NotificationPreferences) error {
	return c.one("notification_preferences", p.Effective())
}

func listNotificationPreferences(c *call) error {
	p, _ := c.snapshot().NotificationPreferencesOf(currentUserID(c))
	return writeNotificationPreferences(c, p)
}

func updateNotificationPreferences(c *call) error {
	params := c.params
	if params.hasPrefix("notification_preferences[") {
		params = params.sub("notification_preferences")
	}
	changes := map[string]bool{}
	for _, n := range composition.Notifications {
		v, ok := params.Get(n)
		if !ok || v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return composition.Invalid(n, "must be true or false")
		}
		changes[n] = b
	}
	userID := currentUserID(c)
	var out *composition.NotificationPreferences
	_, err := c.update(func(tx *composition.Tx) error {
		old, ok := tx.View().NotificationPreferencesOf(userID)
		n := &composition.NotificationPreferences{UserID: userID, Preferences: changes}
		if !ok {
			out = n
			return tx.Create(n)
		}
		cp := *old
		cp.Preferences = maps.Clone(old.Preferences)
		if cp.Preferences == nil {
			cp.Preferences = map[string]bool{}
		}
		maps.Copy(cp.Preferences, changes)
		out = &cp
		return tx.Update(&cp)
	})
	if err != nil {
		return err
	}
	return writeNotificationPreferences(c, out)
}
