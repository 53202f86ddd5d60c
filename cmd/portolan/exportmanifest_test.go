package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// adminForm creates an entity through home's 3scale API and returns its id.
func adminForm(t *testing.T, base, path string, form url.Values) int64 {
	t.Helper()
	form.Set("access_token", "admin")
	res, err := http.PostForm(base+path, form)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode, path)
	var body map[string]map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	for _, v := range body {
		return int64(v["id"].(float64))
	}
	t.Fatalf("%s: no entity in the answer", path)
	return 0
}

// export -o yaml and -o json write home's composition as declarative
// documents, which read back as the same documents; the default stays the
// id-based document import composition reads.
func TestExportWritesDeclarativeDocuments(t *testing.T) {
	home := startCoordinator(t, "admin")
	svc := adminForm(t, home, "/admin/api/services.json", url.Values{"name": {"News"}, "system_name": {"news"}})
	adminForm(t, home, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/application_plans.json", url.Values{"name": {"Basic"}, "system_name": {"basic"}})

	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin", "-o", "yaml")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n"), out)
	yamlDocs, err := manifest.Decode(strings.NewReader(out), "export.yaml")
	require.NoError(t, err)
	require.Len(t, yamlDocs, 1)
	assert.Equal(t, "basic", yamlDocs[0].Service.Plans[0].SystemName)
	assert.Empty(t, yamlDocs[0].Service.Proxy.SecretToken)

	code, out, errOut = runCmd(t, "export", "--home", home, "--token", "admin", "--output", "json", "--include-secrets")
	require.Equal(t, 0, code, errOut)
	jsonDocs, err := manifest.Decode(strings.NewReader(out), "export.json")
	require.NoError(t, err)
	require.Len(t, jsonDocs, 1)
	assert.NotEmpty(t, jsonDocs[0].Service.Proxy.SecretToken, "secrets on request")

	code, out, errOut = runCmd(t, "export", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, `{"format":"portolan.composition/v1"`), out)

	code, _, errOut = runCmd(t, "export", "--home", home, "--token", "admin", "-o", "xml")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `export: -o "xml": want document, yaml or json`)
}

// An application on a custom plan is exported on its original plan, and
// export says so on standard error, once per such application.
func TestExportWarnsOfCustomPlans(t *testing.T) {
	home := startCoordinator(t, "admin")
	svc := adminForm(t, home, "/admin/api/services.json", url.Values{"name": {"News"}, "system_name": {"news"}})
	plan := adminForm(t, home, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/application_plans.json", url.Values{"name": {"Gold"}, "system_name": {"gold"}})
	acc := strconv.FormatInt(adminForm(t, home, "/admin/api/signup.json", url.Values{"org_name": {"ACME"}, "username": {"bob"}, "email": {"bob@acme.example"}}), 10)
	app := adminForm(t, home, "/admin/api/accounts/"+acc+"/applications.json", url.Values{"plan_id": {strconv.FormatInt(plan, 10)}, "name": {"Reader"}})
	adminForm(t, home, "/admin/api/accounts/"+acc+"/applications.json", url.Values{"plan_id": {strconv.FormatInt(plan, 10)}, "name": {"Writer"}})
	req, err := http.NewRequest(http.MethodPut, home+"/admin/api/accounts/"+acc+"/applications/"+strconv.FormatInt(app, 10)+"/customize_plan.json?access_token=admin", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin", "-o", "yaml")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "- name: Reader\n    service: news\n    plan: gold\n", "on its original plan")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 1, errOut)
	assert.Regexp(t, `^export: warning: application "Reader" of account "ACME" \(service "news"\) is on custom plan "[^"]+": exported on its original plan "gold"`, lines[0])

	code, _, errOut = runCmd(t, "export", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut, "the id-based document keeps custom plans")
}
