package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An empty YAML document, what a "---" with nothing after it but comments
// or blank lines is, holds no entity: it is skipped, not refused as a
// document that is no mapping. The YAML 1.2.2 spec's Example 9.4
// ("Explicit Documents") has one, "---\n# Empty\n...", a document of its
// own whose content is an empty node; decode.go means to skip it ("an
// empty document, as after a trailing ---"), and files written for kubectl
// (which skips empty documents) often end with a "---". A document that
// says something, even null or "", is still refused.
func TestDecodeSkipsEmptyDocuments(t *testing.T) {
	a, b := backendDoc("a", ""), backendDoc("b", "")
	for name, src := range map[string]string{
		"a trailing ---":                                a + "---\n",
		"a trailing --- without newline":                a + "---",
		"--- before every document, and after the last": "---\n" + a + "---\n" + b + "---\n",
		"a document of comments only":                   a + "---\n# nothing here yet\n\n---\n" + b,
		"an empty document ended by ...":                a + "---\n# Empty\n...\n---\n" + b,
	} {
		t.Run(name, func(t *testing.T) {
			docs, err := Decode(strings.NewReader(src), "empty.yaml")
			require.NoError(t, err, "an empty document holds no entity: want it skipped, got it refused")
			var names []string
			for _, d := range docs {
				names = append(names, d.Name())
				assert.Equal(t, len(names), d.Origin.Index, "documents are counted without the empty ones")
			}
			assert.Subset(t, []string{"a", "b"}, names)
		})
	}

	// Load reads a directory's files as Decode reads a source.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(a+"---\n"), 0o600))
	docs, err := Load(dir)
	require.NoError(t, err, "a file ending with --- is loaded")
	require.Len(t, docs, 1)

	// What is said is read: a null or an empty string is no document.
	for name, src := range map[string]string{
		"null":           a + "---\nnull\n",
		"~":              a + "--- ~\n",
		"a quoted empty": a + "--- \"\"\n",
		"a tagged null":  a + "--- !!null\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(src), "said.yaml")
			require.Error(t, err, "a document that says %s is refused", name)
			assert.Contains(t, err.Error(), "document 2: must be a mapping with apiVersion and kind")
		})
	}
}
