package composition

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// KindAccessToken is the kind of admin access tokens (3scale's Access
// Tokens API).
const KindAccessToken Kind = "access_tokens"

// The scopes 3scale gives access tokens, and their two permissions.
const (
	ScopeAccountManagement = "account_management"
	ScopeStats             = "stats"
	ScopePolicyRegistry    = "policy_registry"
	ScopeFinance           = "finance"
	ScopeCMS               = "cms"

	PermissionRO = "ro" // GET and HEAD only
	PermissionRW = "rw"
)

// AccessTokenScopes lists every scope 3scale accepts on a token; Portolan
// serves the first three (finance and cms are accepted for compatibility and
// open nothing).
var AccessTokenScopes = []string{ScopeAccountManagement, ScopeStats, ScopePolicyRegistry, ScopeFinance, ScopeCMS}

// AccessToken is an admin access token. Its value is never stored: only
// Digest, the SHA-256 of the value, which is enough to recognise a presented
// token and useless to present (see TokenDigest).
type AccessToken struct {
	ID         int64      `json:"id" wire:"ro"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Permission string     `json:"permission"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// UserID is the provider user the token was made for (3scale's
	// POST /admin/api/users/{id}/access_tokens), 0 for a personal token of
	// the API's caller. It goes with the user; it restricts nothing more.
	UserID int64 `json:"user_id,omitempty" wire:"ro"`
	// Digest is TokenDigest of the value, hex; empty after an export
	// without secrets, and then the token matches nothing.
	Digest    string    `json:"digest,omitempty" wire:"-"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

// TokenDigest is how a token value is kept: hex SHA-256. A plain hash (no
// salt, no slow KDF) is enough because every value Portolan issues carries
// 256 random bits: nothing can be guessed, so there is nothing for a salt or
// work factor to slow down, and a fast hash lets every request be checked in
// well under a microsecond.
func TokenDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// Expired reports whether t has an expiry at or before now.
func (t *AccessToken) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// Writes reports whether t may write (permission rw).
func (t *AccessToken) Writes() bool { return t.Permission == PermissionRW }

func (e *AccessToken) Key() int64 { return e.ID }
func (e *AccessToken) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *AccessToken) created() time.Time { return e.CreatedAt }
func (*AccessToken) info() kindInfo       { return accessTokenDef }

// An access token: name, scopes among 3scale's, permission ro or rw, a
// digest no other token has. Its digest and scopes never change after
// creation (3scale has no token update).
var accessTokenDef = &kindDef[AccessToken, *AccessToken]{
	Kind:     KindAccessToken,
	Table:    func(c *Composition) *Table[*AccessToken] { return &c.AccessTokens },
	Document: func(d *Document) *[]*AccessToken { return &d.AccessTokens },
	Keep: func(t, old *AccessToken) {
		t.Digest, t.Scopes, t.Permission, t.UserID = old.Digest, old.Scopes, old.Permission, old.UserID
	},
	Validate:    validateAccessToken,
	Import:      func(t *AccessToken, ref refFunc) { t.UserID = ref("user_id", t.UserID) },
	HideSecrets: func(t *AccessToken) { t.Digest = "" },
}

func validateAccessToken(c *Composition, t *AccessToken, v *ValidationError) error {
	if t.UserID != 0 {
		if u, ok := c.Users.Get(t.UserID); !ok || u.AccountID != ProviderAccountID {
			return NotFound(KindUser, t.UserID)
		}
	}
	name(v, "name", t.Name)
	oneOf(v, "permission", t.Permission, PermissionRO, PermissionRW)
	if len(t.Scopes) == 0 {
		v.Add("scopes", blank)
	}
	for i, s := range t.Scopes {
		if !slices.Contains(AccessTokenScopes, s) || slices.Contains(t.Scopes[:i], s) {
			v.Add("scopes", invalidFormat)
			break
		}
	}
	if t.Digest == "" {
		return nil
	}
	if b, err := hex.DecodeString(t.Digest); err != nil || len(b) != sha256.Size {
		v.Add("digest", invalidFormat)
	}
	if _, dup := c.AccessTokens.Find(func(o *AccessToken) bool { return o.Digest == t.Digest && o.ID != t.ID }); dup {
		v.Add("digest", taken)
	}
	return nil
}
