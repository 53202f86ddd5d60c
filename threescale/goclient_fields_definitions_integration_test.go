package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The official Go client's account, user and application writes against the
// Fields Definitions family. Portolan stores the definitions with no effect
// (README: it has no developer portal, so they shape no form): a required
// extra field of any target leaves every client call working, with answers
// the client decodes.

func TestGoClientWritesIgnoreRequiredExtraFields(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	for _, target := range []string{"Account", "User", "Cinstance"} {
		code, body := formCall(t, co, http.MethodPost, "/admin/api/fields_definitions.json",
			url.Values{"target": {target}, "name": {"tier"}, "label": {"Tier"}, "required": {"true"}})
		require.Equal(t, http.StatusCreated, code, "%s: %s", target, body)
	}

	acc := acSignup(t, cl, "Acme", "alice")
	read, err := cl.DeveloperAccount(*acc.ID)
	require.NoError(t, err)
	assert.Equal(t, "Acme", *read.Element.OrgName)
	user, err := cl.CreateDeveloperUser(*acc.ID, &client.DeveloperUser{Element: client.DeveloperUserItem{
		Username: gcStr("bob"), Email: gcStr("bob@acme.example"),
	}})
	require.NoError(t, err)
	assert.Equal(t, "bob", *user.Element.Username)
	product := createProduct(t, cl, "News", nil)
	plan := createPlan(t, cl, product, client.Params{"name": "Basic"})
	app, err := cl.CreateApp(s64(*acc.ID), s64(plan.ID), "Reader", "")
	require.NoError(t, err)
	assert.Equal(t, "Reader", app.AppName)
	assert.Empty(t, app.ExtraFields)
	listed := gcApp(t, cl, *acc.ID, app.ID)
	assert.Equal(t, app.UserKey, listed.UserKey)

	// The definitions are still there, as stored.
	var list struct {
		Fields []fieldsDefinitionJSON `json:"fields_definitions"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/fields_definitions.json", nil, http.StatusOK, &list)
	targets := map[string]bool{}
	for _, f := range list.Fields {
		if f.FieldsDefinition.Name == "tier" {
			assert.True(t, f.FieldsDefinition.Required)
			targets[f.FieldsDefinition.Target] = true
		}
	}
	assert.Equal(t, map[string]bool{"Account": true, "User": true, "Cinstance": true}, targets)
}
