package manifest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// A Kubernetes List is read as strictly as a document (FORMAT.md: "What
// YAML readers read differently is refused rather than guessed: ... a tag
// other than YAML's own types ..., a key given twice anywhere"). Its items
// given twice were read as the first, where kubectl and most YAML readers
// take the last: the same file applied other documents than it showed them.
func TestDecodeRefusesAListKeyGivenTwice(t *testing.T) {
	item := func(name string) string {
		return "- apiVersion: portolan.dev/v1\n  kind: Placement\n  name: " + name + "\n  selector: {service: s}\n  service: s\n"
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"items twice", "apiVersion: v1\nkind: List\nitems:\n" + item("first") + "items:\n" + item("second"),
			`list.yaml:9: document 1 (List): items: given twice`},
		{"metadata twice", "apiVersion: v1\nkind: List\nmetadata: {a: b}\nmetadata: {c: d}\nitems:\n" + item("first"),
			`list.yaml:4: document 1 (List): metadata: given twice`},
		{"a key twice in its metadata", "apiVersion: v1\nkind: List\nmetadata: {a: b, a: c}\nitems:\n" + item("first"),
			`metadata.a: given twice`},
		{"a tag in its metadata", "apiVersion: v1\nkind: List\nmetadata: !!python/object:os.system {a: b}\nitems:\n" + item("first"),
			`metadata: the tag !!python/object:os.system is not read`},
		{"a merge key in its metadata", "apiVersion: v1\nkind: List\nmetadata: {<<: {a: b}}\nitems:\n" + item("first"),
			`metadata.<<: a merge key (<<) is not read`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := manifest.Decode(strings.NewReader(tc.doc), "list.yaml")
			require.Error(t, err, "read as %d documents", len(docs))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// A List's metadata is read and left, as a document's.
	docs, err := manifest.Decode(strings.NewReader("apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\", labels: {a: b}}\nitems:\n"+item("first")), "list.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, "first", docs[0].Name())
}

// A List's problem names the List, at the position its first item takes
// (documents are counted a List's items one by one): it named the
// document before it, or no document at all.
func TestDecodeNamesAListByItsPosition(t *testing.T) {
	placement := "apiVersion: portolan.dev/v1\nkind: Placement\nname: p\nselector: {service: s}\nservice: s\n"
	list := "apiVersion: v1\nkind: List\nitemz: []\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"first", list, `list.yaml:3: document 1 (List): itemz: unknown field of a List`},
		{"after a document", placement + "---\n" + list, `list.yaml:9: document 2 (List): itemz: unknown field of a List`},
		{"items not a list", placement + "---\napiVersion: v1\nkind: List\nitems: {}\n", `list.yaml:9: document 2 (List): items: must be a list, not a mapping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "list.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
