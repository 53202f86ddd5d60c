package threescale_test

import (
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The official Go client's account, user and application writes against the
// Webhooks family: each write the client makes is one of 3scale's webhook
// events at the receiver (provider actions on), carrying the object the
// client got back.

func TestGoClientWritesDeliverWebhooks(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	recv := startHookReceiver(t, nil)
	enableWebhooks(t, co, recv.URL, true)

	acc, err := cl.Signup(client.Params{"org_name": "Acme", "username": "alice", "email": "alice@acme.example"})
	require.NoError(t, err)
	accID := *acc.Element.ID
	renamed := "Acme Corp"
	_, err = cl.UpdateDeveloperAccount(&client.DeveloperAccount{Element: client.DeveloperAccountItem{ID: &accID, OrgName: &renamed}})
	require.NoError(t, err)
	bob, err := cl.CreateDeveloperUser(accID, &client.DeveloperUser{Element: client.DeveloperUserItem{
		Username: gcStr("bob"), Email: gcStr("bob@acme.example"), Password: gcStr("s3cret-pass"),
	}})
	require.NoError(t, err)
	bobID := *bob.Element.ID
	_, err = cl.UpdateDeveloperUser(accID, &client.DeveloperUser{Element: client.DeveloperUserItem{ID: &bobID, Email: gcStr("robert@acme.example")}})
	require.NoError(t, err)
	product := createProduct(t, cl, "News", nil)
	plan := createPlan(t, cl, product, client.Params{"name": "Basic"})
	app, err := cl.CreateApp(s64(accID), s64(plan.ID), "Reader", "reads the news")
	require.NoError(t, err)
	require.NoError(t, cl.DeleteDeveloperUser(accID, bobID))

	got := recv.waitEvents(t, 7)
	assert.Equal(t, []actionOf{{"account", "created"}, {"user", "created"}, {"account", "updated"},
		{"user", "created"}, {"user", "updated"}, {"application", "created"}, {"user", "deleted"}}, actions(got))
	require.NotNil(t, got[0].Object.Account)
	assert.Equal(t, accID, got[0].Object.Account.ID)
	assert.Equal(t, "Acme", got[0].Object.Account.OrgName)
	require.NotNil(t, got[2].Object.Account)
	assert.Equal(t, "Acme Corp", got[2].Object.Account.OrgName)
	for _, i := range []int{3, 4, 6} {
		require.NotNil(t, got[i].Object.User, "event %d", i)
		assert.Equal(t, bobID, got[i].Object.User.ID, "event %d", i)
	}
	require.NotNil(t, got[5].Object.Application)
	assert.Equal(t, app.ID, got[5].Object.Application.ID)
	assert.Equal(t, app.State, got[5].Object.Application.State)

	// Deleting the account through the client: the account, its remaining
	// user and its application, one event each.
	require.NoError(t, cl.DeleteDeveloperAccount(accID))
	got = recv.waitEvents(t, 10)
	assert.ElementsMatch(t, []actionOf{{"account", "deleted"}, {"user", "deleted"}, {"application", "deleted"}}, actions(got[7:]))
}
