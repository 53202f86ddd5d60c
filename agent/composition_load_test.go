package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What an image may not bring is refused at start, named as the manifest's
// errors name a problem: the file and line, the document's number, its
// kind and name, and the field.
func TestLoadCompositionRefusalsNameTheDocument(t *testing.T) {
	dir := t.TempDir()
	news := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\n"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	_, err := loadComposition([]string{write("other.yaml", news)}, "other")
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "other.yaml")+`:1: document 1 (Service "news"): system_name: Service "news" is not --service "other": an image brings its own service's documents`)

	_, err = loadComposition([]string{write("account.yaml", news+"---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\n")}, "news")
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "account.yaml")+`:7: document 2 (Account "ACME"): an image brings Service and Backend documents only; Accounts are managed at home`)
}
