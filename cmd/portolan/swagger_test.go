package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/swagger"
	"github.com/portolan/portolan/swagger/openapischema"
)

func threescaleSpecPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(testenv.ThreescaleDir(t), "account_management_api.json")
}

func TestSwaggerListTable(t *testing.T) {
	spec := threescaleSpecPath(t)
	app, stdout, _ := testApp(nil)
	// Rules may come before and after SPEC.
	require.NoError(t, app.Run([]string{"portolan", "swagger", "list", "--include", `tag:"Application Plans"`,
		spec, "--omit", "DELETE **"}))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 1+203+1)
	assert.Equal(t, []string{"STATUS", "METHOD", "PATH", "OPERATION", "RULE"}, strings.Fields(lines[0]))
	assert.Equal(t, "16 kept, 187 omitted", lines[len(lines)-1])
	out := stdout.String()
	assert.Regexp(t, `(?m)^omitted\s+DELETE\s+/admin/api/services/\{service_id\}/application_plans/\{id\}\.xml\s+Application Plan Delete\s+DELETE \*\*$`, out)
	assert.Regexp(t, `(?m)^kept\s+GET\s+/admin/api/application_plans\.xml\s+Application Plan List \(all services\)\s+tag:Application Plans$`, out)
	assert.Regexp(t, `(?m)^omitted\s+GET\s+/admin/api/services\.xml\s+Service List\s+\(no include matches\)$`, out)
}

func TestSwaggerListJSONAndEnv(t *testing.T) {
	spec := threescaleSpecPath(t)
	t.Setenv("PORTOLAN_SWAGGER_LIST_INCLUDE", "tag:Services\ntag:Accounts")
	app, stdout, _ := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "swagger", "list", spec, "--omit", "* /admin/api/accounts/**", "-o", "json"}))
	var out struct {
		Operations []struct {
			Status, Method, Path, Rule string
		}
		Kept, Omitted int
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	assert.Equal(t, 17, out.Kept)
	assert.Equal(t, 186, out.Omitted)
	require.Len(t, out.Operations, 203)
	for _, op := range out.Operations {
		if op.Method == "GET" && op.Path == "/admin/api/accounts/{id}.xml" {
			assert.Equal(t, "omitted", op.Status)
			assert.Equal(t, "* /admin/api/accounts/**", op.Rule)
		}
	}
}

func TestSwaggerSelectFile(t *testing.T) {
	spec := threescaleSpecPath(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	require.NoError(t, os.WriteFile(out, []byte("old"), 0o600))
	app, stdout, stderr := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "swagger", "select", spec, "--include", "tag:Services", "-o", out}))
	assert.Empty(t, stdout.String())
	assert.Contains(t, stderr.String(), "wrote "+out+": 15 kept, 188 omitted")

	data, err := os.ReadFile(out)
	require.NoError(t, err)
	s, err := swagger.Parse(data, openapischema.Check)
	require.NoError(t, err)
	assert.Len(t, s.Operations(), 15)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
}

func TestSwaggerSelectStdoutFromURL(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "swagger", "testdata", "specs", "petstore-2.0.json"))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(data) }))
	t.Cleanup(srv.Close)
	app, stdout, _ := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "swagger", "select", srv.URL + "/spec.json", "--include", "op:getOrder", "-o", "-"}))
	s, err := swagger.Parse(stdout.Bytes(), openapischema.Check)
	require.NoError(t, err)
	require.Len(t, s.Operations(), 1)
	assert.Equal(t, "getOrder", s.Operations()[0].ID)
}

func TestSwaggerErrors(t *testing.T) {
	spec := threescaleSpecPath(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "want one SPEC argument"},
		{[]string{"list", spec, spec}, "want one SPEC argument"},
		{[]string{"list", spec, "--include", "GET admin"}, `swagger list: include rule "GET admin": the path glob "admin" does not start with /`},
		{[]string{"select", spec, "--omit", "FETCH /x"}, `swagger select: omit rule "FETCH /x": unknown method "FETCH"`},
		{[]string{"list", spec, "--include", "tag:services"}, `did you mean tag:Services?`},
		{[]string{"list", spec, "-o", "yaml"}, `unknown output format "yaml"`},
		{[]string{"list", filepath.Join(t.TempDir(), "missing.json")}, "missing.json"},
		{[]string{"select", spec, "-o", filepath.Join(t.TempDir(), "no", "such", "dir.json")}, "write "},
	}
	for _, tt := range tests {
		app, _, stderr := testApp(nil)
		code := run(app, append([]string{"portolan", "swagger"}, tt.args...), stderr)
		assert.Equal(t, 1, code, "%v", tt.args)
		assert.Contains(t, stderr.String(), tt.want, "%v", tt.args)
	}
}
