package threescale

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
)

// 3scale's Access Tokens API, as porta serves it under
// /admin/api/personal/access_tokens (JSON only): create (name, permission ro
// or rw, scopes[], optional expires_at in ISO 8601, a bare date or a time
// without offset being UTC), list (optionally by part of the
// name), read and delete by id or by value. The value is made here (256
// random bits, hex, as porta's), returned once in the create answer, and
// stored only as its digest, so no later answer, export or store file can
// show it.
//
// Portolan adds two rules 3scale leaves to its users' roles: a token cannot
// create a token with a scope it does not hold itself (no escalation
// through the API), and the number of stored tokens is capped
// (TokenChecker.MaxTokens): past it, 429.
//
// The configured bootstrap token (--access-token) is not stored: it is
// neither listed nor deletable here; rotate it by changing the flag.
//
// POST /admin/api/users/{user_id}/access_tokens (deprecated in 3scale) makes
// the same token for a provider user: it goes when the user is deleted, and
// a member's grants only what the member's permissions allow
// (permissions.go). A token made under /personal with a user's token is
// that user's; a user's token, admin or member, sees and deletes only its
// own user's there (ownsToken).

const (
	accessTokensPath = "/admin/api/personal/access_tokens"
	// accessTokenBytes is the random part of a token value: 256 bits.
	accessTokenBytes = 32
	// expiresAtFormat is how porta writes expires_at (%FT%T%:z).
	expiresAtFormat = "2006-01-02T15:04:05-07:00"
)

func (a *API) accessTokenRoutes() []Route {
	const tag = "Access Tokens"
	member := accessTokensPath + "/{id}"
	return []Route{
		{Method: http.MethodGet, Path: accessTokensPath, Tag: tag, Summary: "Personal Access Token List", handle: listAccessTokens},
		{Method: http.MethodPost, Path: accessTokensPath, Tag: tag, Summary: "Personal Access Token Create",
			Status: http.StatusCreated, handle: createAccessToken},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: "Personal Access Token Read", handle: readAccessToken},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: "Personal Access Token Delete", handle: deleteAccessToken},
		{Method: http.MethodPost, Path: "/admin/api/users/{user_id}/access_tokens", Tag: tag,
			Summary: "Access Token Create (deprecated)", Status: http.StatusCreated, handle: unwrapped("token", createUserAccessToken)},
	}
}

// accessTokenView is porta's representation of a token; Value only in the
// answer to its creation.
type accessTokenView struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	Permission string   `json:"permission"`
	ExpiresAt  string   `json:"expires_at,omitempty"`
	Value      string   `json:"value,omitempty"`
}

func viewAccessToken(t *composition.AccessToken, value string) map[string]accessTokenView {
	v := accessTokenView{ID: t.ID, Name: t.Name, Scopes: t.Scopes, Permission: t.Permission, Value: value}
	if t.ExpiresAt != nil {
		v.ExpiresAt = t.ExpiresAt.UTC().Format(expiresAtFormat)
	}
	return map[string]accessTokenView{"access_token": v}
}

func listAccessTokens(c *call) error {
	name, _ := c.params.Get("name")
	name = strings.ToLower(name)
	g, _ := GrantFrom(c.r.Context())
	items := c.snapshot().AccessTokens.Filter(func(t *composition.AccessToken) bool {
		return ownsToken(g, t) && strings.Contains(strings.ToLower(t.Name), name)
	})
	out := make([]map[string]accessTokenView, len(items))
	for i, t := range items {
		out[i] = viewAccessToken(t, "")
	}
	httpjson.Write(c.w, c.status(), map[string]any{"access_tokens": out})
	return nil
}

// createAccessToken makes a personal token: the provider admin's (user 0),
// or with a user's token that user's.
func createAccessToken(c *call) error {
	g, _ := GrantFrom(c.r.Context())
	return createTokenFor(c, g.UserID)
}

// createUserAccessToken makes a token for the provider user of the path.
func createUserAccessToken(c *call) error {
	id, err := c.id("user_id")
	if err != nil {
		return err
	}
	if u, ok := c.snapshot().Users.Get(id); !ok || u.AccountID != composition.ProviderAccountID {
		return ErrNotFound
	}
	return createTokenFor(c, id)
}

// createTokenFor makes a token for provider user userID, 0 for a personal
// one, and answers it with its value.
func createTokenFor(c *call, userID int64) error {
	t := &composition.AccessToken{UserID: userID}
	t.Name, _ = c.params.Get("name")
	t.Permission, _ = c.params.Get("permission")
	scopes, err := listParamValues(c.params, "scopes", "scopes")
	if err != nil {
		return err
	}
	t.Scopes = slices.DeleteFunc(scopes, func(s string) bool { return s == "" }) // porta drops blanks
	now := time.Now()
	if raw, ok := c.params.Get("expires_at"); ok && raw != "" {
		at, err := parseExpiresAt(raw)
		if err != nil || !at.After(now) {
			return composition.Invalid("expires_at",
				"Date must follow ISO8601 format and be future. Example: "+now.Add(7*24*time.Hour).UTC().Format(time.RFC3339))
		}
		t.ExpiresAt = &at
	}
	// A token grants at most what its creator holds.
	g, _ := GrantFrom(c.r.Context())
	for _, s := range t.Scopes {
		if slices.Contains(composition.AccessTokenScopes, s) && !slices.Contains(g.Scopes, s) {
			return Forbidden(fmt.Sprintf("%s: this token lacks the scope %s and cannot grant it", errPermission, s))
		}
	}
	value, err := newTokenValue()
	if err != nil {
		return err
	}
	t.Digest = composition.TokenDigest(value)
	limit := c.api.tokens.maxTokens()
	_, err = c.update(func(tx *composition.Tx) error {
		if tx.View().AccessTokens.Len() >= limit {
			return &statusError{status: http.StatusTooManyRequests, msg: fmt.Sprintf(
				"access token limit reached (%d): delete unused tokens, or raise the coordinator's --max-access-tokens", limit)}
		}
		return tx.Create(t)
	})
	if err != nil {
		return err
	}
	httpjson.Write(c.w, c.status(), viewAccessToken(t, value))
	return nil
}

// expiresAtLayouts are the ISO 8601 forms porta's DateTime.parse reads for
// expires_at: with an offset, or a date and time or a bare date in UTC.
var expiresAtLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseExpiresAt reads an expires_at parameter in one of expiresAtLayouts.
func parseExpiresAt(raw string) (time.Time, error) {
	var err error
	for _, layout := range expiresAtLayouts {
		var at time.Time
		if at, err = time.Parse(layout, raw); err == nil {
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("expires_at %q is no ISO 8601 time: %w", raw, err)
}

// ownsToken reports whether the grant may see and delete token t through
// the personal Access Tokens API. Porta answers there from
// current_user.access_tokens, so a user's token, an admin's as much as a
// member's, reaches only its own user's tokens. A token of no user (the
// bootstrap token, or one it made) has no counterpart in porta, whose
// personal API needs a user: it stays the operator's, reaching every token,
// so that a leaked user token can be revoked without deleting its user.
func ownsToken(g Grant, t *composition.AccessToken) bool {
	return g.UserID == 0 || t.UserID == g.UserID
}

// newTokenValue returns a fresh token value: 256 random bits, hex.
func newTokenValue() (string, error) {
	b := make([]byte, accessTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate access token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// findAccessToken resolves the path's id, which is a token's id or its
// value, as porta's find_from_id_or_value.
// A member's token finds only the member's own tokens.
func findAccessToken(c *call, s *composition.Composition) (*composition.AccessToken, error) {
	g, _ := GrantFrom(c.r.Context())
	raw := c.r.PathValue("id")
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if t, ok := s.AccessTokens.Get(id); ok && ownsToken(g, t) {
			return t, nil
		}
	}
	if raw == "" {
		return nil, ErrNotFound
	}
	digest := composition.TokenDigest(raw)
	if t, ok := s.AccessTokens.Find(func(t *composition.AccessToken) bool { return t.Digest == digest }); ok && ownsToken(g, t) {
		return t, nil
	}
	return nil, ErrNotFound
}

func readAccessToken(c *call) error {
	t, err := findAccessToken(c, c.snapshot())
	if err != nil {
		return err
	}
	httpjson.Write(c.w, c.status(), viewAccessToken(t, ""))
	return nil
}

func deleteAccessToken(c *call) error {
	_, err := c.update(func(tx *composition.Tx) error {
		t, err := findAccessToken(c, tx.View())
		if err != nil {
			return err
		}
		return tx.Delete(composition.KindAccessToken, t.ID)
	})
	if err != nil {
		return err
	}
	return c.empty()
}
