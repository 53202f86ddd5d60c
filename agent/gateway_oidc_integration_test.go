package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// An OpenID Connect service made through the 3scale API, served by a real
// agent's gateway against the test's own issuer: the issuer endpoint is
// stored as 3scale stores it (with the client's credentials in it), an
// application's client_id is the azp of its tokens, and its plan's limit
// applies (3 hits a minute, then 429). A token of another client, an
// expired one and none at all are refused as APIcast refuses them.
func TestGatewayOIDCEndToEnd(t *testing.T) {
	co := testenv.StartCoordinator(t)
	iss := testenv.StartOIDCIssuer(t)

	sid, hits := countedService(t, co, "Secure", "secure")
	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/services/%d.json", sid), "backend_version=oidc", nil)
	endpoint := strings.Replace(iss.URL, "http://", "http://portolan-gw:client-s3cret@", 1)
	adminCall(t, co, "PATCH", fmt.Sprintf("/admin/api/services/%d/proxy.json", sid), "oidc_issuer_endpoint="+url.QueryEscape(endpoint), nil)
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &plan)
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan.Plan.ID, hits), "period=minute&value=3", nil)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass", &signup)
	var app struct {
		App struct {
			ClientID string `json:"client_id"`
		} `json:"application"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID),
		fmt.Sprintf("name=web&plan_id=%d&application_id=news-web&application_key=web-secret", plan.Plan.ID), &app)
	require.Equal(t, "news-web", app.App.ClientID)

	host, port := gwUpstream(t, "secure-app")
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "secure", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port), "--", "sleep", "120")
	base := "http://" + gw

	get := func(token string) reply {
		req, _ := http.NewRequest("GET", base+"/articles", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return reply{0, err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp.StatusCode, string(b)}
	}
	require.Eventually(t, func() bool { return get("").status == http.StatusForbidden }, 10*time.Second, 20*time.Millisecond,
		"the gateway knows the service once it has the composition")
	assert.Equal(t, reply{403, "Authentication parameters missing\n"}, get(""))

	for i := range 3 {
		assert.Equal(t, reply{200, "secure-app"}, get(iss.Token(t, "RS256", iss.Claims("news-web"))), "request %d", i+1)
	}
	assert.Equal(t, reply{429, "Usage limit exceeded\n"}, get(iss.Token(t, "ES256", iss.Claims("news-web"))))
	assert.Equal(t, reply{403, "Authentication failed\n"}, get(iss.Token(t, "RS256", iss.Claims("someone-else"))), "unknown azp")
	expired := iss.Claims("news-web")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	assert.Equal(t, reply{403, "Authentication failed\n"}, get(iss.Token(t, "RS256", expired)))
}
