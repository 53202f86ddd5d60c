package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// An access token sent empty is a token, refused, not a missing one that
// the Authorization header would then supply. APIcast's
// gateway/src/apicast/configuration/service.lua (version_oauth) reads
//
//	if config.location == 'query' then
//	  access_token = ngx.var['arg_' .. name] or read_body_args(name)[1]
//	elseif config.location == 'headers' then
//	  access_token = read_http_header(name)
//	...
//	access_token = access_token or authorization.token
//
// where nginx's $arg_access_token and $http_access_token are "" for a
// parameter or header sent empty, and "" is true in Lua: the bearer token
// is not read, proxy.lua's "if not val then return
// errors.no_credentials(service)" lets "" through, and oauth/oidc.lua
// refuses it as no JWT ("JWT not valid"): "Authentication failed". Its
// resty/http_authorization.lua ("^(%w+)%s*(.*)$") makes "Bearer" alone a
// bearer token too, empty. Only "?access_token" without "=" is no
// parameter at all ($arg_ is nil), so the bearer token is read.
func TestOIDCAccessTokenSentEmptyIsRefusedNotMissing(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	tok := og.iss.Token(t, "RS256", og.iss.Claims("premium-key"))
	failed := func(a answer) answer { return answer{403, "text/plain; charset=us-ascii", authFailedBody, a.header} }
	missing := func(a answer) answer {
		return answer{403, "text/plain; charset=us-ascii", "Authentication parameters missing\n", a.header}
	}
	post := func(t *testing.T, base, target, body string, h http.Header) answer {
		req, err := http.NewRequest("POST", base+target, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range h {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}
	}

	a := call(t, "GET", og.base+"/?access_token=", bearerHeader(tok))
	assert.Equal(t, failed(a), a, "query sent empty, a valid bearer token beside it")
	a = call(t, "GET", og.base+"/?access_token=", nil)
	assert.Equal(t, failed(a), a, "query sent empty, alone")
	a = call(t, "GET", og.base+"/?access_token=&access_token="+tok, nil)
	assert.Equal(t, failed(a), a, "the first value is the token, as nginx's $arg_")
	a = post(t, og.base, "/", "access_token=", bearerHeader(tok))
	assert.Equal(t, failed(a), a, "form body sent empty, a valid bearer token beside it")
	a = call(t, "GET", og.base+"/", http.Header{"Authorization": {"Bearer"}})
	assert.Equal(t, failed(a), a, "Bearer without a token")
	a = call(t, "GET", og.base+"/", http.Header{"Authorization": {"Bearer    "}})
	assert.Equal(t, failed(a), a, "Bearer and spaces")
	a = call(t, "GET", og.base+"/", http.Header{"Authorization": {"Bearerx " + tok}})
	assert.Equal(t, missing(a), a, "another scheme")
	a = call(t, "GET", og.base+"/", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}})
	assert.Equal(t, missing(a), a, "no bearer token")
	a = call(t, "GET", og.base+"/", nil)
	assert.Equal(t, missing(a), a, "nothing")
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/?access_token", bearerHeader(tok)).status, "no '=': no parameter, the bearer token")
	a = post(t, og.base, "/", "access_token="+tok, nil)
	assert.Equal(t, http.StatusNotFound, a.status, "form body: the token passes, then no rule matches POST: %s", a.body)
	assert.Equal(t, float64(6), policyEvents(og.reg, "apicast", "oidc_token_refused"), "refused as tokens")

	hs := startOIDCGateway(t, "", nil, func(p *composition.Proxy) { p.CredentialsLocation = composition.CredentialsHeaders })
	tok = hs.iss.Token(t, "RS256", hs.iss.Claims("premium-key"))
	a = call(t, "GET", hs.base+"/", http.Header{"Access_token": {""}, "Authorization": {"Bearer " + tok}})
	assert.Equal(t, failed(a), a, "header sent empty, a valid bearer token beside it")
	a = call(t, "GET", hs.base+"/", http.Header{"Access-Token": {"  "}})
	assert.Equal(t, failed(a), a, "header of blanks")
	assert.Equal(t, http.StatusOK, call(t, "GET", hs.base+"/?access_token=", bearerHeader(tok)).status, "a query is not read there")

	as := startOIDCGateway(t, "", nil, func(p *composition.Proxy) { p.CredentialsLocation = composition.CredentialsAuthorization })
	a = call(t, "GET", as.base+"/", http.Header{"Authorization": {"Bearer"}})
	assert.Equal(t, failed(a), a, "authorization location, Bearer without a token")
	a = call(t, "GET", as.base+"/?access_token=x", nil)
	assert.Equal(t, missing(a), a, "authorization location reads no query")
}
