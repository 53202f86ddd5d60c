package threescale

import (
	"bytes"
	"encoding/xml"
	"net/url"

	"github.com/portolan/portolan/composition"
)

// authMode says which of apisonator's four authorization calls serveAuth
// answers: authorize or authrep (report), plain or OAuth.
type authMode struct{ report, oauth bool }

// oauthAuthenticate finds the application of an OAuth call
// (oauth_authorize.xml, oauth_authrep.xml) and applies apisonator's OAuth
// validators up to the referrer's: the service's OAuth setting, the app_key
// (checked only when given, and then it must be one of the application's
// keys), the redirect URL. The state is checked last, after the referrer,
// as in apisonator.
//
// The application is named by app_id (the OAuth client_id). apisonator also
// maps an access_token to one, from tokens stored through its internal API;
// Portolan stores none, so an access_token alone names no application
// (access_token_invalid, 404), and beside an app_id it is ignored, as
// apisonator ignores an unknown one there.
func (sm *ServiceManagement) oauthAuthenticate(snap *composition.Snapshot, svc *composition.Service,
	params url.Values) (*composition.Application, *composition.ApplicationPlan, *composition.Denial) {
	cred := credentialsOf(params, "")
	if cred.AppID == "" {
		if params.Get("access_token") != "" {
			return nil, nil, &composition.Denial{Code: composition.DenialAccessTokenInvalid,
				Reason: "token is invalid: expired or never defined"}
		}
		return nil, nil, &composition.Denial{Code: composition.DenialApplicationNotFound,
			Reason: `application with id="" was not found`}
	}
	app, plan, denial := sm.AppIndex(snap, svc.ID).Authenticate(cred)
	if app == nil {
		return nil, nil, denial
	}
	if !oidcService(svc) {
		return app, plan, &composition.Denial{Code: composition.DenialOAuthNotEnabled, Reason: "oauth is not enabled"}
	}
	if d := optionalKeyDenial(params, cred, app, denial); d != nil {
		return app, plan, d
	}
	if d := redirectDenial(app, params); d != nil {
		return app, plan, d
	}
	if app.State != composition.AppLive {
		return app, plan, &composition.Denial{Code: composition.DenialApplicationNotActive, Reason: "application is not active"}
	}
	return app, plan, nil
}

// oidcService reports whether svc authenticates with OAuth or OpenID
// Connect (backend_version oauth, or Portolan's oidc).
func oidcService(svc *composition.Service) bool {
	return svc.BackendVersion == "oauth" || svc.BackendVersion == "oidc"
}

// oidcAuthenticate finds the application of a plain authorize or authrep
// on an OAuth/OIDC service. apisonator's Transactor#validate runs its
// OIDC_VALIDATORS there (OauthKey, Referrer, State, Limits): the app_id is
// the token's client id, which the gateway has verified, so the app_key is
// checked only when one is given. Unlike the OAuth calls, neither the
// service's setting nor a redirect URL is checked, and the answer has no
// <application>.
func (sm *ServiceManagement) oidcAuthenticate(snap *composition.Snapshot, svc *composition.Service,
	params url.Values) (*composition.Application, *composition.ApplicationPlan, *composition.Denial) {
	cred := credentialsOf(params, "")
	app, plan, denial := sm.AppIndex(snap, svc.ID).Authenticate(cred)
	if app == nil {
		return nil, nil, denial
	}
	if d := optionalKeyDenial(params, cred, app, denial); d != nil {
		return app, plan, d
	}
	if app.State != composition.AppLive {
		return app, plan, &composition.Denial{Code: composition.DenialApplicationNotActive, Reason: "application is not active"}
	}
	return app, plan, nil
}

// optionalKeyDenial is apisonator's OauthKey validator: an app_key, when
// given (even empty), must be one of the application's keys; none given
// is fine. denial is what Authenticate answered for the same credentials.
func optionalKeyDenial(params url.Values, cred composition.Credentials, app *composition.Application,
	denial *composition.Denial) *composition.Denial {
	_, keyGiven := params["app_key"]
	keyBad := keyGiven && (cred.AppKey == "" || len(app.AppKeys) == 0 ||
		denial != nil && denial.Code == composition.DenialAppKeyInvalid)
	switch {
	case keyBad && cred.AppKey == "":
		return &composition.Denial{Code: composition.DenialAppKeyInvalid, Reason: "application key is missing"}
	case keyBad:
		return &composition.Denial{Code: composition.DenialAppKeyInvalid, Reason: "application key is invalid"}
	}
	return nil
}

// redirectDenial is apisonator's RedirectURI validator: redirect_url (the
// legacy name, preferred when both are given) or redirect_uri, when given
// and not empty, must be the application's redirect URL.
func redirectDenial(app *composition.Application, params url.Values) *composition.Denial {
	name, code := "redirect_uri", composition.DenialRedirectURIInvalid
	if _, ok := params["redirect_url"]; ok {
		name, code = "redirect_url", composition.DenialRedirectURLInvalid
	}
	v := params.Get(name)
	if v == "" || v == app.RedirectURL {
		return nil
	}
	return &composition.Denial{Code: code, Reason: name + ` "` + clip(v) + `" is invalid`}
}

// referrerStep is apisonator's referrer validator (composition.ReferrerStep)
// on the referrer parameter.
func referrerStep(svc *composition.Service, app *composition.Application, params url.Values,
	denial *composition.Denial) *composition.Denial {
	_, given := params["referrer"]
	return composition.ReferrerStep(svc.ReferrerFiltersRequired, app, params.Get("referrer"), given, denial)
}

// writeOAuthApplication writes the <application> of an OAuth answer: the
// application's id (its app_id, the client_id), first key and redirect URL.
func writeOAuthApplication(buf *bytes.Buffer, app *composition.Application) {
	key := ""
	if len(app.AppKeys) > 0 {
		key = app.AppKeys[0]
	}
	buf.WriteString(`<application><id>`)
	_ = xml.EscapeText(buf, []byte(app.AppID))
	buf.WriteString(`</id><key>`)
	_ = xml.EscapeText(buf, []byte(key))
	buf.WriteString(`</key><redirect_url>`)
	_ = xml.EscapeText(buf, []byte(app.RedirectURL))
	buf.WriteString(`</redirect_url></application>`)
}
