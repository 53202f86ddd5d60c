package coordinator_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry/client"
)

// digestImage is an image's Service document at version 1 with two
// metrics, two plans and a policy whose configuration has two keys:
// everything FORMAT.md lets a document write in another order.
const digestImage = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
version: 1
backend_usages: [{backend: store, path: /store}]
proxy:
  policy_chain:
  - name: cors
    version: builtin
    configuration: {allow_origin: "*", allow_methods: [GET, POST]}
  - {name: apicast, version: builtin}
metrics:
- system_name: hits
  methods:
  - {system_name: list_articles, friendly_name: List articles}
- {system_name: bytes, friendly_name: Bytes, unit: byte}
plans:
- system_name: basic
  name: Basic
  limits:
  - {metric: hits, period: day, value: 100}
- system_name: premium
  name: Premium
`

const digestBackend = `apiVersion: portolan.dev/v1
kind: Backend
system_name: store
name: Store
private_endpoint: http://store:8080
`

// loadDir writes files into a new directory and loads it as the agent's
// --composition does.
func loadDir(t *testing.T, files map[string]string) []manifest.Document {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	docs, err := manifest.Load(dir)
	require.NoError(t, err)
	return docs
}

// TestImageOfOneVersionWrittenOtherwiseIsTheSameContent: replicas of one
// image version whose documents were written differently, but say the same
// (FORMAT.md: lists that name their elements "may be in any order in a
// document"; a policy's configuration is a JSON object, whose keys have no
// order, RFC 8259 section 4), apply once: none of them is a 409. A real
// change of content at the same version still is.
func TestImageOfOneVersionWrittenOtherwiseIsTheSameContent(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	ctx := context.Background()

	reply, err := home.BringComposition(ctx, id, loadDir(t, map[string]string{"news.yaml": digestImage, "store.yaml": digestBackend}))
	require.NoError(t, err)
	require.Equal(t, composition.ManagedApply, reply.Outcome)
	rev := co.Revision(t)

	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	for name, files := range map[string]map[string]string{
		"files named in the other order": {"a-store.yaml": digestBackend, "b-news.yml": digestImage},
		"one file, backend first":        {"all.yaml": digestBackend + "---\n" + digestImage},
		"CRLF line endings":              {"news.yaml": crlf(digestImage), "store.yaml": crlf(digestBackend)},
		"comments and a comments-only file": {
			"news.yaml":  "# the news API\n" + strings.Replace(digestImage, "name: News\n", "name: News # shown\n", 1),
			"store.yaml": digestBackend,
			"notes.yaml": "# nothing here yet\n# plans come later\n",
		},
		"top-level keys in another order": {
			"news.yaml":  strings.Replace(digestImage, "system_name: news\nname: News\nversion: 1\n", "version: 1\nname: News\nsystem_name: news\n", 1),
			"store.yaml": "private_endpoint: http://store:8080\nname: Store\nsystem_name: store\nkind: Backend\napiVersion: portolan.dev/v1\n",
		},
		"metrics and plans in another order": {
			"news.yaml": strings.Replace(strings.Replace(digestImage,
				"- system_name: hits\n  methods:\n  - {system_name: list_articles, friendly_name: List articles}\n- {system_name: bytes, friendly_name: Bytes, unit: byte}\n",
				"- {system_name: bytes, friendly_name: Bytes, unit: byte}\n- system_name: hits\n  methods:\n  - {system_name: list_articles, friendly_name: List articles}\n", 1),
				"- system_name: basic\n  name: Basic\n  limits:\n  - {metric: hits, period: day, value: 100}\n- system_name: premium\n  name: Premium\n",
				"- system_name: premium\n  name: Premium\n- system_name: basic\n  name: Basic\n  limits:\n  - {metric: hits, period: day, value: 100}\n", 1),
			"store.yaml": digestBackend,
		},
		"a policy's configuration keys in another order": {
			"news.yaml":  strings.Replace(digestImage, `{allow_origin: "*", allow_methods: [GET, POST]}`, `{allow_methods: [GET, POST], allow_origin: "*"}`, 1),
			"store.yaml": digestBackend,
		},
	} {
		t.Run(name, func(t *testing.T) {
			reply, err := home.BringComposition(ctx, id, loadDir(t, files))
			require.NoError(t, err, "the same content at the same version is no conflict")
			assert.Equal(t, composition.ManagedUnchanged, reply.Outcome)
			assert.Equal(t, rev, co.Revision(t), "and writes nothing")
		})
	}

	for name, files := range map[string]map[string]string{
		"a limit changed":                {"news.yaml": strings.Replace(digestImage, "value: 100", "value: 101", 1), "store.yaml": digestBackend},
		"a policy dropped":               {"news.yaml": strings.Replace(digestImage, "  - {name: apicast, version: builtin}\n", "", 1), "store.yaml": digestBackend},
		"a policy's configuration value": {"news.yaml": strings.Replace(digestImage, "[GET, POST]", "[POST, GET]", 1), "store.yaml": digestBackend},
		"the backend's endpoint changed": {"news.yaml": digestImage, "store.yaml": strings.Replace(digestBackend, "store:8080", "store:8081", 1)},
		"mapping rules added":            {"news.yaml": digestImage + "mapping_rules:\n- {http_method: GET, pattern: /a, metric: hits, delta: 1}\n- {http_method: GET, pattern: /b, metric: hits, delta: 1}\n", "store.yaml": digestBackend},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := home.BringComposition(ctx, id, loadDir(t, files))
			assert.Equal(t, http.StatusConflict, client.StatusCode(err), "other content at the same version: %v", err)
			assert.Equal(t, rev, co.Revision(t), "a conflict writes nothing")
		})
	}
}

// digestAsWritten is the digest a home before canonical order computed:
// each document's JSON, documents by kind and name, lists and a policy's
// configuration as written.
func digestAsWritten(t *testing.T, docs []manifest.Document) string {
	t.Helper()
	sorted := slices.Clone(docs)
	slices.SortFunc(sorted, func(a, b manifest.Document) int {
		return cmp.Or(strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Name(), b.Name()))
	})
	h := sha256.New()
	for _, d := range sorted {
		b, err := json.Marshal(d)
		require.NoError(t, err)
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return composition.DigestPrefix + hex.EncodeToString(h.Sum(nil))
}

// TestImageAppliedByAnEarlierHomeIsNoConflictForTheSameDocuments: a service
// a home before canonical order applied records the digest of its documents
// as written (composition export and import keep it); the same documents
// brought to this home, whose lists are not in canonical order (the news
// example's limits are not), are the same content, not a 409.
func TestImageAppliedByAnEarlierHomeIsNoConflictForTheSameDocuments(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	ctx := context.Background()
	written := strings.Replace(digestImage, "- {metric: hits, period: day, value: 100}\n",
		"- {metric: list_articles, period: day, value: 50}\n  - {metric: hits, period: day, value: 100}\n", 1)
	files := map[string]string{"news.yaml": written, "store.yaml": digestBackend}
	_, err := home.BringComposition(ctx, id, loadDir(t, files))
	require.NoError(t, err)

	// Home as an earlier one left it: the digest of the documents as written.
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	b, err := admin.ExportComposition(ctx, true)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	managed := doc["services"].([]any)[0].(map[string]any)["managed"].(map[string]any)
	earlier := digestAsWritten(t, loadDir(t, files))
	require.NotEqual(t, managed["digest"], earlier, "the lists are not in canonical order")
	managed["digest"] = earlier
	b, err = json.Marshal(doc)
	require.NoError(t, err)
	co = testenv.StartCoordinator(t) // a home without the service, which the import brings
	admin, err = client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	_, err = admin.ImportComposition(ctx, b)
	require.NoError(t, err)
	home, id = registeredWith(t, co, scopedToken(t, co, "news"), "news")
	rev := co.Revision(t)

	reply, err := home.BringComposition(ctx, id, loadDir(t, files))
	require.NoError(t, err, "the same documents an earlier home applied are no conflict")
	assert.Equal(t, composition.ManagedUnchanged, reply.Outcome)
	assert.Equal(t, rev, co.Revision(t), "and write nothing")

	_, err = home.BringComposition(ctx, id, loadDir(t, map[string]string{"news.yaml": strings.Replace(written, "value: 50", "value: 51", 1), "store.yaml": digestBackend}))
	assert.Equal(t, http.StatusConflict, client.StatusCode(err), "other content is still a conflict: %v", err)
}
