package threescale

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/portolan/portolan/composition"
)

// Application keys, as porta's BuyerApplicationKeysController serves them: the
// app keys of an app_id/app_key application (the client secret of an OpenID
// Connect one). Creating or deleting a key answers the application.

// maxAppKeys is porta's ApplicationKey::KEYS_LIMIT; an OpenID Connect
// application has one client secret.
const maxAppKeys = 5

// appKeyRE is porta's format for an app key: printable ASCII, 5 to 255 long.
var appKeyRE = regexp.MustCompile(`^[\x20-\x7e]+$`)

func (a *API) applicationKeyRoutes() []Route {
	const tag = "Account Applications"
	formats := []Format{JSON, XML}
	base := "/admin/api/accounts/{account_id}/applications/{application_id}/keys"
	apps := accountApps()
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "Application Key List", Formats: formats, handle: listAppKeys(apps)},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "Application Key Create", Formats: formats,
			Status: http.StatusCreated, handle: apps.change("application_id", addAppKey)},
		{Method: http.MethodDelete, Path: base + "/{key}", Tag: tag, Summary: "Application Key Delete", Formats: formats,
			handle: apps.change("application_id", removeAppKey)},
	}
}

// appKeyWire is one key: {"key":{"value":...}} or <key><value>...</value>,
// with its own times as porta's ApplicationKey records have them. A key is
// never updated (porta's value is attr_readonly), so it was last updated
// when it was created.
type appKeyWire struct {
	Value     string    `json:"value"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// appKeyXML is the same in Cinstance's XML order.
type appKeyXML struct {
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedAt time.Time `json:"created_at"`
}

func listAppKeys(apps *appCollection) func(*call) error {
	return func(c *call) error {
		app, err := apps.find(c, c.snapshot(), "application_id")
		if err != nil {
			return err
		}
		items := make([]viewItem, len(app.AppKeys))
		for i, k := range app.AppKeys {
			items[i].name = "key"
			at := app.KeyCreated(k)
			if c.format == XML {
				items[i].v = appKeyXML{Value: k, UpdatedAt: at, CreatedAt: at}
			} else {
				items[i].v = appKeyWire{Value: k, CreatedAt: at, UpdatedAt: at}
			}
		}
		return writeViewList(c, "keys", items)
	}
}

// addAppKey adds the key parameter, or a generated key when there is none
// (porta's application_keys.add), within porta's limits.
func addAppKey(c *call, tx *composition.Tx, n, _ *composition.Application) error {
	// porta generates a key only when the parameter is absent
	// (params[:key] || generate): an empty one is a value, and too short.
	key, given := c.params.Get("key")
	if !given {
		k, err := generateKey()
		if err != nil {
			return err
		}
		key = k
	}
	v := &composition.ValidationError{}
	for _, msg := range appKeyProblems(key) {
		v.Add("value", msg)
	}
	if slices.Contains(n.AppKeys, key) {
		v.Add("value", "has already been taken")
	}
	limit := maxAppKeys
	if svc, ok := tx.View().Services.Get(n.ServiceID); ok && svc.BackendVersion == "oidc" {
		limit = 1
	}
	if len(n.AppKeys) >= limit {
		v.Add("base", "limit reached")
	}
	if err := v.Err(); err != nil {
		return err
	}
	n.AppKeys = append(slices.Clone(n.AppKeys), key) // n shares its slice with the snapshot
	n.KeyCreatedAt = maps.Clone(n.KeyCreatedAt)      // and its map
	if n.KeyCreatedAt == nil {
		n.KeyCreatedAt = map[string]time.Time{}
	}
	n.KeyCreatedAt[key] = tx.Now()
	return nil
}

// appKeyProblems returns what porta's ApplicationKey validations say of
// key's value, in their order: its format, then its length (5 to 255).
func appKeyProblems(key string) []string {
	var out []string
	if !appKeyRE.MatchString(key) {
		out = append(out, "is invalid")
	}
	switch {
	case len(key) < 5:
		out = append(out, "is too short (minimum is 5 characters)")
	case len(key) > 255:
		out = append(out, "is too long (maximum is 255 characters)")
	}
	return out
}

// removeAppKey deletes the key in the path; an unknown key is 404. Its time
// goes with it (composition's prepareApplication drops the times of keys an
// application no longer has).
func removeAppKey(c *call, _ *composition.Tx, n, _ *composition.Application) error {
	key := c.r.PathValue("key")
	i := slices.Index(n.AppKeys, key)
	if i < 0 {
		return ErrNotFound
	}
	n.AppKeys = slices.Delete(slices.Clone(n.AppKeys), i, i+1)
	return nil
}

// generateKey is porta's ApplicationKey.generate: 16 random bytes in hex.
func generateKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating an application key: %w", err)
	}
	return hex.EncodeToString(b), nil
}
