package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// Admin Portal and Developer Portal Authentication Providers: the SSO
// integrations (Keycloak, Auth0, GitHub, custom OAuth) of the admin portal
// (/admin/api/account/authentication_providers) and of the developer portal
// (/admin/api/authentication_providers), as porta's
// Admin::Api::Account::AuthenticationProvidersController and
// Admin::Api::AuthenticationProvidersController serve them: list, create,
// read and update, no delete. Portolan has neither portal and signs nobody
// in through them: it stores and answers them as 3scale does, client secret
// included, as porta's representer renders it.

type authProviders = collection[composition.AuthenticationProvider, *composition.AuthenticationProvider]

// The parameters porta permits: on create, kind, names and these; on update
// only these (the developer portal also its create-only URLs and keys, and
// automatically_approve_accounts on both).
var (
	authProviderAdminParams = []string{"client_id", "client_secret", "site", "skip_ssl_certificate_verification", "published"}
	authProviderDevParams   = append([]string{"automatically_approve_accounts"}, authProviderAdminParams...)
	authProviderDevCreate   = append([]string{"kind", "name", "system_name", "token_url", "user_info_url", "authorize_url",
		"identifier_key", "username_key", "trust_email"}, authProviderDevParams...)
	authProviderAdminCreate = append([]string{"kind", "name", "system_name"}, authProviderAdminParams...)
)

func (a *API) authenticationProviderRoutes() []Route {
	formats := []Format{JSON, XML}
	var rs []Route
	for _, portal := range []struct {
		tag, base, what, accountType string
		create, update               []string
	}{
		{"Admin Portal Authentication Providers", "/admin/api/account/authentication_providers", "Admin Portal",
			composition.AuthProviderProvider, authProviderAdminCreate, authProviderAdminParams},
		{"Developer Portal Authentication Providers", "/admin/api/authentication_providers", "Developer Portal",
			composition.AuthProviderDeveloper, authProviderDevCreate, authProviderDevParams},
	} {
		col := authProviderCollection(portal.accountType, portal.create, portal.update)
		member := portal.base + "/{id}"
		rs = append(rs,
			Route{Method: http.MethodGet, Path: portal.base, Tag: portal.tag, Summary: "Authentication Providers " + portal.what + " List",
				Formats: formats, handle: col.list},
			Route{Method: http.MethodPost, Path: portal.base, Tag: portal.tag, Summary: "Authentication Provider " + portal.what + " Create",
				Formats: formats, Status: http.StatusCreated, handle: unwrapped("authentication_provider", col.create)},
			Route{Method: http.MethodGet, Path: member, Tag: portal.tag, Summary: "Authentication Provider " + portal.what + " Read",
				Formats: formats, handle: col.read("id")},
			Route{Method: http.MethodPut, Path: member, Tag: portal.tag, Summary: "Authentication Provider " + portal.what + " Update",
				Formats: formats, handle: unwrapped("authentication_provider", col.update("id"))},
		)
	}
	return rs
}

// unwrapped lets h read parameters sent wrapped in name (name[field]=v, as
// porta's wrap_parameters accepts) as if sent bare.
func unwrapped(name string, h func(*call) error) func(*call) error {
	return func(c *call) error {
		if c.params.hasPrefix(name + "[") {
			c.params = c.params.sub(name)
		}
		return h(c)
	}
}

// authProviderCollection is one portal's providers; create and update name
// the parameters each permits, every other is ignored.
func authProviderCollection(accountType string, create, update []string) *authProviders {
	return &authProviders{
		kind:  composition.KindAuthenticationProvider,
		names: fixedNames("authentication_provider", "authentication_providers"),
		table: func(c *composition.Composition) *composition.Table[*composition.AuthenticationProvider] {
			return &c.AuthProviders
		},
		scope: func(*call, *composition.Composition) (func(*composition.AuthenticationProvider) bool, func(*composition.AuthenticationProvider), error) {
			return func(p *composition.AuthenticationProvider) bool { return p.AccountType == accountType },
				func(p *composition.AuthenticationProvider) { p.AccountType = accountType }, nil
		},
		prepare: func(_ *call, _ *composition.Tx, n, old *composition.AuthenticationProvider) error {
			if old == nil {
				permitAuthProvider(n, &composition.AuthenticationProvider{AccountType: accountType}, create)
			} else {
				permitAuthProvider(n, old, update)
			}
			return nil
		},
		view:    authProviderView,
		unpaged: true,
	}
}

// authProviderFields are the fields a request may set, by parameter name.
var authProviderFields = map[string]func(dst, src *composition.AuthenticationProvider){
	"kind":           func(d, s *composition.AuthenticationProvider) { d.Kind = s.Kind },
	"name":           func(d, s *composition.AuthenticationProvider) { d.Name = s.Name },
	"system_name":    func(d, s *composition.AuthenticationProvider) { d.SystemName = s.SystemName },
	"client_id":      func(d, s *composition.AuthenticationProvider) { d.ClientID = s.ClientID },
	"client_secret":  func(d, s *composition.AuthenticationProvider) { d.ClientSecret = s.ClientSecret },
	"site":           func(d, s *composition.AuthenticationProvider) { d.Site = s.Site },
	"token_url":      func(d, s *composition.AuthenticationProvider) { d.TokenURL = s.TokenURL },
	"user_info_url":  func(d, s *composition.AuthenticationProvider) { d.UserInfoURL = s.UserInfoURL },
	"authorize_url":  func(d, s *composition.AuthenticationProvider) { d.AuthorizeURL = s.AuthorizeURL },
	"identifier_key": func(d, s *composition.AuthenticationProvider) { d.IdentifierKey = s.IdentifierKey },
	"username_key":   func(d, s *composition.AuthenticationProvider) { d.UsernameKey = s.UsernameKey },
	"trust_email":    func(d, s *composition.AuthenticationProvider) { d.TrustEmail = s.TrustEmail },
	"published":      func(d, s *composition.AuthenticationProvider) { d.Published = s.Published },
	"skip_ssl_certificate_verification": func(d, s *composition.AuthenticationProvider) {
		d.SkipSSLCertificateVerification = s.SkipSSLCertificateVerification
	},
	"automatically_approve_accounts": func(d, s *composition.AuthenticationProvider) {
		d.AutomaticallyApproveAccounts = s.AutomaticallyApproveAccounts
	},
}

// permitAuthProvider sets every settable field of n that is not permitted
// back to base's value: n keeps only what the permitted parameters set.
func permitAuthProvider(n, base *composition.AuthenticationProvider, permitted []string) {
	keep := map[string]bool{}
	for _, p := range permitted {
		keep[p] = true
	}
	for param, set := range authProviderFields {
		if !keep[param] {
			set(n, base)
		}
	}
}

// AuthProviderCallback is the callback URL porta adds to a provider: where
// the SSO server sends users back, on the portal's host.
type AuthProviderCallback struct {
	CallbackURL string `json:"callback_url"`
}

// authProviderWire is a provider as porta renders it: its fields, then the
// callback URL.
type authProviderWire struct {
	*composition.AuthenticationProvider
	AuthProviderCallback
}

// authProviderView renders p with its callback URL, on the host the API was
// called on: Portolan's portals (which it has not) would live there. porta
// adds Auth0's invitation callbacks to Auth0's; Portolan gives the one.
func authProviderView(c *call, p *composition.AuthenticationProvider) (string, any) {
	url := c.baseString() + "/auth/" + p.SystemName + "/callback"
	return "authentication_provider", authProviderWire{p, AuthProviderCallback{CallbackURL: url}}
}
