package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
)

// README "Moving a composition between homes": `portolan export` from
// home A, then `portolan import composition` into home B. Every entity in
// the export was accepted by A, one API call at a time (an ActiveDoc up to
// the 1 MiB a request may carry), and nothing bounds how many A holds
// (3scale's porta keeps an ActiveDoc's body as a MEDIUMTEXT, 16 MiB), so an
// export may be over the bound of the home it goes to (64 MiB by default).
// The import was refused as "not a composition exported by portolan
// export", with no way round it; it now names home's --max-import-bytes,
// and a home started with it larger takes the document. Two ActiveDocs of
// 0.95 MiB against bounds of 1 and 4 MiB stand for 75 against 64 MiB.
func TestExportOverHomesImportBoundImportsOnceHomeRaisesIt(t *testing.T) {
	a := startCoordinator(t, "admin-a")
	spec, err := json.Marshal(map[string]any{
		"openapi": "3.0.0",
		"info":    map[string]any{"title": "big", "version": "1", "description": strings.Repeat("x", 950_000)},
		"paths":   map[string]any{},
	})
	require.NoError(t, err)
	const docs = 2
	for i := range docs {
		sendAdminForm(t, http.MethodPost, a+"/admin/api/active_docs.json", "admin-a",
			url.Values{"name": {fmt.Sprintf("doc%d", i)}, "body": {string(spec)}}, http.StatusCreated)
	}
	code, out, errOut := runCmd(t, "export", "--home", a, "--token", "admin-a")
	require.Equal(t, 0, code, errOut)
	require.Greater(t, len(out), 1<<20)
	file := filepath.Join(t.TempDir(), "composition.json")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))

	small := startCoordinatorWith(t, coordinator.Config{AccessToken: "admin-b", MaxImportBytes: 1 << 20})
	code, _, errOut = runCmd(t, "import", "composition", file, "--home", small, "--token", "admin-b")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "--max-import-bytes")
	assert.NotContains(t, errOut, "not a composition")
	code, got, errOut := runCmd(t, "export", "--home", small, "--token", "admin-b")
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, got, "doc0", "nothing was imported")

	large := startCoordinatorWith(t, coordinator.Config{AccessToken: "admin-b", MaxImportBytes: 4 << 20})
	code, _, errOut = runCmd(t, "import", "composition", file, "--home", large, "--token", "admin-b")
	require.Equal(t, 0, code, "home B refused home A's export: %s", errOut)
	code, got, errOut = runCmd(t, "export", "--home", large, "--token", "admin-b")
	require.Equal(t, 0, code, errOut)
	var doc struct {
		ActiveDocs []json.RawMessage `json:"active_docs"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &doc))
	require.Len(t, doc.ActiveDocs, docs)
}
