package composition

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// KindAuthenticationProvider is the kind of the provider's SSO integrations
// (3scale's Admin Portal and Developer Portal Authentication Providers).
const KindAuthenticationProvider Kind = "authentication_providers"

// The portals an authentication provider signs users in to, as porta's
// account_type names them.
const (
	AuthProviderDeveloper = "developer" // the developer portal
	AuthProviderProvider  = "provider"  // the admin portal
)

// AuthProviderAdminKinds are the kinds porta offers for the admin portal;
// the developer portal also has github, and any other kind is a custom one.
var AuthProviderAdminKinds = []string{"keycloak", "auth0"}

// AuthenticationProvider is an SSO integration (Keycloak, Auth0, GitHub or a
// custom OAuth server) for the admin or developer portal, with porta's
// fields. Portolan has neither portal and signs nobody in through it: it
// stores and answers them as 3scale does. The client secret is kept because
// porta keeps it and answers it; an export without secrets leaves it out.
type AuthenticationProvider struct {
	ID                             int64     `json:"id" wire:"ro"`
	Kind                           string    `json:"kind"`
	AccountType                    string    `json:"account_type" wire:"ro"`
	Name                           string    `json:"name"`
	SystemName                     string    `json:"system_name"`
	ClientID                       string    `json:"client_id"`
	ClientSecret                   string    `json:"client_secret"`
	Site                           string    `json:"site"`
	TokenURL                       string    `json:"token_url"`
	UserInfoURL                    string    `json:"user_info_url"`
	AuthorizeURL                   string    `json:"authorize_url"`
	SkipSSLCertificateVerification bool      `json:"skip_ssl_certificate_verification"`
	AutomaticallyApproveAccounts   bool      `json:"automatically_approve_accounts"`
	BrandingState                  string    `json:"branding_state" wire:"ro,omitempty"`
	AccountID                      int64     `json:"account_id" wire:"ro"`
	UsernameKey                    string    `json:"username_key"`
	IdentifierKey                  string    `json:"identifier_key"`
	TrustEmail                     bool      `json:"trust_email"`
	Published                      bool      `json:"published"`
	CreatedAt                      time.Time `json:"created_at" wire:"ro"`
	UpdatedAt                      time.Time `json:"updated_at" wire:"ro"`
}

func (e *AuthenticationProvider) Key() int64 { return e.ID }
func (e *AuthenticationProvider) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *AuthenticationProvider) created() time.Time { return e.CreatedAt }
func (*AuthenticationProvider) info() kindInfo       { return authenticationProviderDef }

// authProviderHumanKinds are porta's names for the kinds it knows, the
// default name of a new provider.
var authProviderHumanKinds = map[string]string{"keycloak": "Red Hat Single Sign-On", "auth0": "Auth0", "github": "GitHub"}

// An authentication provider, with porta's defaults and rules: kind and
// portal never change; system_name defaults to the kind and is unique
// within the provider; name defaults to the kind's; Keycloak and Auth0 need
// a site; a client id and secret are needed (GitHub too: Portolan has no
// 3scale-branded GitHub application, so GitHub providers are custom
// branded); URLs are http(s).
var authenticationProviderDef = &kindDef[AuthenticationProvider, *AuthenticationProvider]{
	Kind:     KindAuthenticationProvider,
	Table:    func(c *Composition) *Table[*AuthenticationProvider] { return &c.AuthProviders },
	Document: func(d *Document) *[]*AuthenticationProvider { return &d.AuthProviders },
	Keep: func(a, old *AuthenticationProvider) {
		a.Kind, a.AccountType, a.AccountID, a.BrandingState = old.Kind, old.AccountType, old.AccountID, old.BrandingState
	},
	Prepare: func(_ *Composition, a, old *AuthenticationProvider) error {
		if old != nil {
			return nil
		}
		a.Kind = strings.ToLower(a.Kind)
		a.AccountID = ProviderAccountID
		a.AccountType = defaultStr(a.AccountType, AuthProviderDeveloper)
		a.SystemName = defaultStr(a.SystemName, a.Kind)
		a.Name = defaultStr(a.Name, defaultStr(authProviderHumanKinds[a.Kind], a.Kind))
		a.IdentifierKey = defaultStr(a.IdentifierKey, "id")
		a.UsernameKey = defaultStr(a.UsernameKey, "login")
		if a.Kind == "github" {
			a.BrandingState = "custom_branded"
		}
		return nil
	},
	Validate: validateAuthenticationProvider,
	// An export without secrets leaves the client secret out; the import
	// then stores a random one, which the provider replaces with an update
	// (the SSO integration has no effect in Portolan either way).
	HideSecrets: func(a *AuthenticationProvider) { a.ClientSecret = "" },
	Import: func(a *AuthenticationProvider, _ refFunc) {
		if a.ClientSecret == "" {
			a.ClientSecret = randomHex(16)
		}
	},
}

func validateAuthenticationProvider(c *Composition, a *AuthenticationProvider, v *ValidationError) error {
	if a.Kind == "" {
		v.Add("kind", blank)
	}
	if a.AccountType == AuthProviderProvider && a.Kind != "" && !slices.Contains(AuthProviderAdminKinds, a.Kind) {
		v.Add("kind", "not found")
	}
	if a.AccountType == AuthProviderDeveloper && a.Kind != "" {
		if _, dup := c.AuthProviders.Find(func(o *AuthenticationProvider) bool {
			return o.AccountType == AuthProviderDeveloper && o.Kind == a.Kind && o.ID != a.ID
		}); dup {
			v.Add("kind", taken)
		}
	}
	if _, dup := c.AuthProviders.Find(func(o *AuthenticationProvider) bool {
		return o.SystemName == a.SystemName && o.ID != a.ID
	}); dup {
		v.Add("system_name", taken)
	}
	name(v, "name", a.Name)
	if a.ClientID == "" {
		v.Add("client_id", blank)
	}
	if a.ClientSecret == "" {
		v.Add("client_secret", blank)
	}
	if a.Kind == "keycloak" || a.Kind == "auth0" {
		if a.Site == "" {
			v.Add("site", blank)
		}
	}
	if strings.ContainsAny(a.Site, " \t\r\n") {
		v.Add("site", "contains whitespace")
	}
	for field, u := range map[string]string{"site": a.Site, "token_url": a.TokenURL, "authorize_url": a.AuthorizeURL, "user_info_url": a.UserInfoURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			v.Add(field, "Invalid URL format")
		}
	}
	for field, s := range map[string]string{"system_name": a.SystemName, "client_id": a.ClientID, "client_secret": a.ClientSecret,
		"site": a.Site, "token_url": a.TokenURL, "user_info_url": a.UserInfoURL, "authorize_url": a.AuthorizeURL,
		"username_key": a.UsernameKey, "identifier_key": a.IdentifierKey} {
		if len(s) > 255 {
			v.Add(field, "is too long (maximum is 255 characters)")
		}
	}
	return nil
}

// AuthProvidersOf returns the authentication providers of one portal
// (AuthProviderProvider or AuthProviderDeveloper), in id order.
func (c *Composition) AuthProvidersOf(accountType string) []*AuthenticationProvider {
	return c.AuthProviders.Filter(func(a *AuthenticationProvider) bool { return a.AccountType == accountType })
}
