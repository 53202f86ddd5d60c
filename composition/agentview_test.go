package composition_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// An agent's view holds its service and what serving it needs, and nothing
// of another service, no user, no active doc, no plaintext credential; the
// index over it still authenticates by user_key and by app_id/app_key.
func TestAgentViewHoldsOnlyItsServiceAndHashedKeys(t *testing.T) {
	tx := composition.NewTx(composition.New(), time.Now())
	news := &composition.Service{Name: "News", BackendVersion: "2"}
	weather := &composition.Service{Name: "Weather", BackendVersion: "1"}
	require.NoError(t, tx.Create(news))
	require.NoError(t, tx.Create(weather))
	np := &composition.ApplicationPlan{ServiceID: news.ID, Name: "Basic"}
	wp := &composition.ApplicationPlan{ServiceID: weather.ID, Name: "Basic"}
	require.NoError(t, tx.Create(np))
	require.NoError(t, tx.Create(wp))
	acct := &composition.Account{OrgName: "Acme Secret Org"}
	require.NoError(t, tx.Create(acct))
	require.NoError(t, tx.Create(&composition.User{AccountID: acct.ID, Username: "alice", Email: "alice@example.com", Password: "hunter2-pass"}))
	require.NoError(t, tx.Create(&composition.ActiveDoc{Name: "spec", ServiceID: news.ID, Body: `{"openapi":"3.0.0"}`}))
	napp := &composition.Application{AccountID: acct.ID, PlanID: np.ID, Name: "n", AppID: "news-app-id", AppKeys: []string{"news-app-key-1"}}
	wapp := &composition.Application{AccountID: acct.ID, PlanID: wp.ID, Name: "w", UserKey: "weather-user-key"}
	require.NoError(t, tx.Create(napp))
	require.NoError(t, tx.Create(wapp))
	snap := tx.Result()

	key := bytes.Repeat([]byte{7}, composition.CredentialKeySize)
	b, err := json.Marshal(composition.AgentView(snap, news.SystemName, key, time.Now()))
	require.NoError(t, err)
	for _, s := range []string{"weather", "Weather", "alice", "hunter2-pass", "Acme Secret Org", "openapi", "news-app-id", "news-app-key-1", "weather-user-key", napp.ProviderVerificationKey} {
		assert.NotContains(t, string(b), s)
	}
	var d composition.Document
	require.NoError(t, json.Unmarshal(b, &d))
	view, err := d.Composition()
	require.NoError(t, err)
	assert.Equal(t, 1, view.Services.Len())
	assert.Equal(t, 0, view.Users.Len())
	x := composition.NewAppIndex(view, news.ID)
	app, _, denial := x.Authenticate(composition.Credentials{AppID: "news-app-id", AppKey: "news-app-key-1"})
	require.Nil(t, denial)
	assert.Equal(t, napp.ID, app.ID)
	_, _, denial = x.Authenticate(composition.Credentials{AppID: "news-app-id", AppKey: "wrong"})
	require.NotNil(t, denial)
	assert.Equal(t, composition.DenialAppKeyInvalid, denial.Code)

	wv := composition.AgentView(snap, weather.SystemName, key, time.Now())
	b, err = json.Marshal(wv)
	require.NoError(t, err)
	var wd composition.Document
	require.NoError(t, json.Unmarshal(b, &wd))
	wc, err := wd.Composition()
	require.NoError(t, err)
	app, _, denial = composition.NewAppIndex(wc, weather.ID).Authenticate(composition.Credentials{UserKey: "weather-user-key"})
	require.Nil(t, denial)
	assert.Equal(t, wapp.ID, app.ID)
	_, _, denial = composition.NewAppIndex(wc, weather.ID).Authenticate(composition.Credentials{UserKey: wd.Applications[0].UserKey})
	assert.NotNil(t, denial, "the digest itself is not a key")
}

// 3scale stores an OIDC service's issuer with the client's credentials in
// it (https://client:secret@issuer/realms/x); an agent's view carries the
// issuer only, and the composition keeps the credentials.
func TestAgentViewDropsTheIssuersClientCredentials(t *testing.T) {
	tx := composition.NewTx(composition.New(), time.Now())
	svc := &composition.Service{Name: "Sso", BackendVersion: "oidc"}
	require.NoError(t, tx.Create(svc))
	p, ok := tx.View().Proxies.Get(svc.ID)
	require.True(t, ok)
	n := *p
	n.OIDCIssuerEndpoint = "https://portal-client:s3cr3t-client-pass@sso.example.com/realms/news"
	require.NoError(t, tx.Update(&n))
	snap := tx.Result()

	b, err := json.Marshal(composition.AgentView(snap, svc.SystemName, bytes.Repeat([]byte{7}, composition.CredentialKeySize), time.Now()))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t-client-pass")
	assert.NotContains(t, string(b), "portal-client")
	assert.Contains(t, string(b), `"oidc_issuer_endpoint":"https://sso.example.com/realms/news"`)
	kept, _ := snap.Proxies.Get(svc.ID)
	assert.Equal(t, "https://portal-client:s3cr3t-client-pass@sso.example.com/realms/news", kept.OIDCIssuerEndpoint)
}
