package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An OpenID Connect application shows its redirect_url in JSON and XML
// (porta's CinstanceRepresenter and Cinstance#to_xml, for backend_version
// "oauth"): after application_id, null in JSON when unset. Applications of
// other services do not show it.
func TestApplicationRedirectURLShownForOIDC(t *testing.T) {
	f := newOAuthFixture(t)
	appPath := "/admin/api/accounts/" + f.account + "/applications/" + f.oidcApp
	var one struct {
		App map[string]json.RawMessage `json:"application"`
	}
	decodeCall(t, f.co, http.MethodGet, appPath+".json", nil, http.StatusOK, &one)
	assert.JSONEq(t, `"`+oauthRedirect+`"`, string(one.App["redirect_url"]))

	status, body := rawCall(t, f.co, http.MethodGet, appPath+".xml", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	paths := elementPaths(t, body)
	at := func(p string) int {
		for i, q := range paths {
			if q == p {
				return i
			}
		}
		t.Fatalf("no %s in %s", p, body)
		return -1
	}
	assert.Equal(t, at("application/application_id")+1, at("application/redirect_url"), "right after application_id: %s", body)
	assert.Contains(t, string(body), "<redirect_url>"+oauthRedirect+"</redirect_url>")

	silver := f.co.Create(t, "/admin/api/services/"+f.oidc+"/application_plans.json", "name=Silver")
	bare := f.co.Create(t, "/admin/api/accounts/"+f.account+"/applications.json", "name=Bare&plan_id="+silver)
	decodeCall(t, f.co, http.MethodGet, "/admin/api/accounts/"+f.account+"/applications/"+bare+".json", nil, http.StatusOK, &one)
	raw, ok := one.App["redirect_url"]
	assert.True(t, ok, "an OIDC application without a redirect URL shows it null")
	assert.Equal(t, "null", string(raw))
	_, body = rawCall(t, f.co, http.MethodGet, "/admin/api/accounts/"+f.account+"/applications/"+bare+".xml", "", "")
	assert.Contains(t, elementPaths(t, body), "application/redirect_url")
	assert.NotContains(t, string(body), oauthRedirect)

	for _, app := range []string{f.app, f.idApp} { // user_key and app_id services
		one.App = nil
		decodeCall(t, f.co, http.MethodGet, "/admin/api/accounts/"+f.account+"/applications/"+app+".json", nil, http.StatusOK, &one)
		assert.NotContains(t, one.App, "redirect_url")
		_, body := rawCall(t, f.co, http.MethodGet, "/admin/api/accounts/"+f.account+"/applications/"+app+".xml", "", "")
		assert.NotContains(t, string(body), "redirect_url")
	}
}

// An update's redirect_url is stored stripped, as porta stores it, and the
// OAuth calls compare the given redirect_url with what is stored: the new
// one passes, the old one is refused.
func TestApplicationRedirectURLUpdateReachesOAuthCalls(t *testing.T) {
	f := newOAuthFixture(t)
	const moved = "https://app.example.com/v2/callback"
	appPath := "/admin/api/accounts/" + f.account + "/applications/" + f.oidcApp + ".json"
	var one struct {
		App struct {
			RedirectURL string `json:"redirect_url"`
		} `json:"application"`
	}
	decodeCall(t, f.co, http.MethodPut, appPath, url.Values{"redirect_url": {" \t" + moved + " \n"}}, http.StatusOK, &one)
	assert.Equal(t, moved, one.App.RedirectURL, "stripped")
	decodeCall(t, f.co, http.MethodGet, appPath, nil, http.StatusOK, &one)
	assert.Equal(t, moved, one.App.RedirectURL)

	for _, path := range []string{"/transactions/oauth_authorize.xml", "/transactions/oauth_authrep.xml"} {
		st, _ := f.oauthStatus(t, path, f.oauthQuery("redirect_url", moved), http.StatusOK)
		assert.Equal(t, moved, st.Application.RedirectURL, path)
		f.oauthStatus(t, path, f.oauthQuery("redirect_uri", moved), http.StatusOK)
		st, _ = f.oauthStatus(t, path, f.oauthQuery("redirect_url", oauthRedirect), http.StatusConflict)
		assert.Equal(t, `redirect_url "`+oauthRedirect+`" is invalid`, st.Reason, path)
		st, _ = f.oauthStatus(t, path, f.oauthQuery("redirect_url", " "+moved), http.StatusConflict)
		assert.Equal(t, `redirect_url " `+moved+`" is invalid`, st.Reason, "apisonator compares exactly")
	}

	// Cleared, any redirect URL given is refused, an empty one passes.
	var cleared struct {
		App map[string]json.RawMessage `json:"application"`
	}
	decodeCall(t, f.co, http.MethodPut, appPath, url.Values{"redirect_url": {""}}, http.StatusOK, &cleared)
	assert.Equal(t, "null", string(cleared.App["redirect_url"]))
	f.oauthStatus(t, "/transactions/oauth_authorize.xml", f.oauthQuery("redirect_url", ""), http.StatusOK)
	f.oauthStatus(t, "/transactions/oauth_authorize.xml", f.oauthQuery("redirect_url", moved), http.StatusConflict)
}
