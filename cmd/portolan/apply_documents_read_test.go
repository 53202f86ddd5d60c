package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Documents as other tools write them are read by `portolan apply` and by
// home's POST /admin/portolan/apply alike:
//   - a YAML file ending with "---" (or holding a "---" with only comments
//     under it) has an empty document there, which holds no entity: the
//     YAML 1.2.2 spec's Example 9.4 has one ("---\n# Empty\n..."), and
//     kubectl skips them;
//   - JSON escaping a character beyond the Basic Multilingual Plane as a
//     surrogate pair, as RFC 8259, section 7 says ("\uD834\uDD1E") and
//     Python's json.dumps writes it, is the one character.
//
// Both were refused ("must be a mapping with apiVersion and kind", "found
// invalid Unicode character escape code").
func TestApplyReadsDocumentsOtherToolsWrite(t *testing.T) {
	co := testenv.StartCoordinator(t)
	bin := testenv.Binary(t)
	dir := docsDir(t, map[string]string{
		// As a generator writes it: "---" before and after each document.
		"store.yaml": "---\n" + storeBackend + "---\n# the next one is still to write\n---\n",
		// As Python's json.dumps writes it.
		"news.json": `{"apiVersion": "portolan.dev/v1", "kind": "Service", "system_name": "news", "name": "News \ud83d\udcf0", ` +
			`"description": "G clef \uD834\uDD1E"}`,
	})
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append(args, "--home", co.URL, "--token", co.Token)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &ee)
			return ee.ExitCode(), out.String(), errOut.String()
		}
		return 0, out.String(), errOut.String()
	}

	code, out, errOut := run("diff", "-f", dir)
	require.Equal(t, 1, code, "diff: want 1 (changes), got %d\n%s%s", code, out, errOut)
	assert.Contains(t, out, "+ create backend:store\n")
	assert.Contains(t, out, "+ create service:news\n")

	code, out, errOut = run("apply", "-f", dir)
	require.Equal(t, 0, code, "apply: %s%s", out, errOut)
	code, out, errOut = run("export", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var docs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &docs))
	var news map[string]any
	for _, d := range docs {
		if d["system_name"] == "news" {
			news = d
		}
	}
	require.NotNil(t, news, out)
	assert.Equal(t, "News \U0001F4F0", news["name"], "the surrogate pair is the character it escapes")
	assert.Equal(t, "G clef \U0001D11E", news["description"])

	code, out, errOut = run("diff", "-f", dir)
	assert.Equal(t, 0, code, "applied, the same documents change nothing\n%s%s", out, errOut)

	// Home reads a body another tool sends the same way.
	for ct, body := range map[string]string{
		"application/json": "[" + strings.TrimSpace(readFile(t, filepath.Join(dir, "news.json"))) + "]",
		"application/yaml": readFile(t, filepath.Join(dir, "store.yaml")),
	} {
		req, err := http.NewRequest(http.MethodPost, co.URL+"/admin/portolan/apply?dry_run=true", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		req.SetBasicAuth("", co.Token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var answer struct {
			Changes []any `json:"changes"`
		}
		b := new(bytes.Buffer)
		_, _ = b.ReadFrom(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", ct, b)
		require.NoError(t, json.Unmarshal(b.Bytes(), &answer))
		assert.Empty(t, answer.Changes, "%s: home holds what the body says", ct)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}
