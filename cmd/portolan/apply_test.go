package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

const newsService = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
plans:
- system_name: gold
  name: Gold
  limits:
  - {metric: hits, period: day, value: 10}
`

const storeBackend = `apiVersion: portolan.dev/v1
kind: Backend
system_name: store
name: Store
private_endpoint: http://store.internal:8080
`

// docsDir writes files (name → content) into a new directory.
func docsDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

// diff exits 1 while home lacks what the documents say, 0 once apply made
// it so, and 2 on an error; apply prints the plan and the revision it made.
func TestDiffAndApplyCommands(t *testing.T) {
	home := startCoordinator(t, "admin")
	dir := docsDir(t, map[string]string{"news.yaml": newsService, "store.json": `{"apiVersion":"portolan.dev/v1","kind":"Backend","system_name":"store","name":"Store","private_endpoint":"http://store.internal:8080"}`})
	flags := []string{"--home", home, "--token", "admin"}

	code, out, errOut := runCmd(t, append([]string{"diff", "-f", dir}, flags...)...)
	require.Equal(t, 1, code, "changes: exit 1\n%s%s", out, errOut)
	assert.Empty(t, errOut)
	assert.Contains(t, out, "+ create service:news\n")
	assert.Contains(t, out, "+ create backend:store\n")
	assert.Contains(t, out, "+ create service:news/plan:gold\n")
	assert.Contains(t, out, "dry run: nothing written")

	code, out, errOut = runCmd(t, append([]string{"apply", "--dry-run", "-f", dir}, flags...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "dry run: nothing written")

	code, out, errOut = runCmd(t, append([]string{"apply", "-f", dir}, flags...)...)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 3, out)
	assert.Regexp(t, `^\d+ to create, 0 to update, 0 to delete$`, lines[len(lines)-2])
	assert.Regexp(t, `^applied: revision \d+$`, lines[len(lines)-1])

	code, out, errOut = runCmd(t, append([]string{"diff", "-f", dir}, flags...)...)
	assert.Equal(t, 0, code, "no changes: exit 0\n%s%s", out, errOut)
	assert.Contains(t, out, "0 to create, 0 to update, 0 to delete\nno changes: home holds what the documents say")

	// An edit shows field by field; prune shows the deletes.
	edited := strings.Replace(newsService, "value: 10", "value: 20", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "news.yaml"), []byte(edited), 0o600))
	code, out, _ = runCmd(t, append([]string{"diff", "-f", filepath.Join(dir, "news.yaml")}, flags...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "~ update service:news/plan:gold/limit:service:news/metric:hits@day\n    value: 10 → 20\n")
	assert.Contains(t, out, "0 to create, 1 to update, 0 to delete\n")
	noPlan := strings.Split(edited, "plans:")[0]
	require.NoError(t, os.WriteFile(filepath.Join(dir, "news.yaml"), []byte(noPlan), 0o600))
	code, out, _ = runCmd(t, append([]string{"diff", "--prune", "-f", dir}, flags...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "- delete service:news/plan:gold\n")

	// Errors exit 2: a bad document (named, with its field), a bad flag,
	// home refusing the token or unreachable.
	bad := docsDir(t, map[string]string{"bad.yaml": strings.Replace(newsService, "period: day", "period: dai", 1)})
	code, out, errOut = runCmd(t, append([]string{"diff", "-f", bad}, flags...)...)
	assert.Equal(t, 2, code, out)
	assert.Contains(t, errOut, `bad.yaml:9: document 1 (Service "news"): plans[gold].limits[0].period: "dai" is not one of`)
	// A problem only home finds names the file the document came from.
	orphan := docsDir(t, map[string]string{"a.yaml": storeBackend, "b.yaml": "# an application of a service home lacks\n---\n" + `apiVersion: portolan.dev/v1
kind: Account
org_name: ACME
applications:
- {name: Reader, service: missing, plan: basic}
`})
	code, _, errOut = runCmd(t, append([]string{"diff", "-f", orphan}, flags...)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "home refused the documents:\n  "+filepath.Join(orphan, "b.yaml")+`:3: document 1 (Account "ACME"): applications[0].service: "missing" is not a service`, errOut)
	code, _, errOut = runCmd(t, append([]string{"diff", "-f", dir, "-o", "xml"}, flags...)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `-o "xml": want text or json`)
	code, _, errOut = runCmd(t, "diff", "-f", dir, "--home", home, "--token", "wrong")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "403")
	code, _, _ = runCmd(t, "diff", "-f", dir, "--home", "http://127.0.0.1:1", "--token", "admin")
	assert.Equal(t, 2, code, "home unreachable")
	code, _, errOut = runCmd(t, append([]string{"diff", "--no-such-flag", "-f", dir}, flags...)...)
	assert.Equal(t, 2, code, errOut)
	code, _, errOut = runCmd(t, append([]string{"diff"}, flags...)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "-f is required")
}

// -o json is home's answer, and documents come from standard input with -f -.
func TestApplyJSONOutputFromStdin(t *testing.T) {
	home := startCoordinator(t, "admin")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	_, err = w.WriteString(newsService + "---\n" + storeBackend)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin; r.Close() })

	code, out, errOut := runCmd(t, "apply", "-f", "-", "-o", "json", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	var res registry.ApplyResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.True(t, res.Applied)
	assert.NotZero(t, res.Revision)
	create, update, del := res.Counts()
	assert.Positive(t, create)
	assert.Zero(t, update+del)
}

// What export -o yaml writes is what home holds: diff finds nothing to do,
// so a repository can start from an export.
func TestDiffOfAnExportIsEmpty(t *testing.T) {
	home := startCoordinator(t, "admin")
	svc := adminForm(t, home, "/admin/api/services.json", url.Values{"name": {"News"}, "system_name": {"news"}})
	adminForm(t, home, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/application_plans.json", url.Values{"name": {"Basic"}, "system_name": {"basic"}})
	plan := adminForm(t, home, "/admin/api/services/"+strconv.FormatInt(svc, 10)+"/application_plans.json", url.Values{"name": {"Gold"}, "system_name": {"gold"}})
	acct := adminForm(t, home, "/admin/api/signup.json", url.Values{"org_name": {"ACME"}, "username": {"bob"}, "email": {"bob@acme.example"}})
	adminForm(t, home, "/admin/api/accounts/"+strconv.FormatInt(acct, 10)+"/applications.json", url.Values{"plan_id": {strconv.FormatInt(plan, 10)}, "name": {"Reader"}})

	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin", "-o", "yaml")
	require.Equal(t, 0, code, errOut)
	file := filepath.Join(docsDir(t, map[string]string{"home.yaml": out}), "home.yaml")
	code, out, errOut = runCmd(t, "diff", "--prune", "-f", file, "--home", home, "--token", "admin")
	assert.Equal(t, 0, code, "%s%s", out, errOut)
}
