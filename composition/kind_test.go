package composition

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryKindHasItsTableAndList holds the descriptors to the structs they
// point into: each kind owns one Table of Composition and the Document list
// named after it, and its entities say they are of that kind.
func TestEveryKindHasItsTableAndList(t *testing.T) {
	c := New()
	tables := map[uintptr]Kind{}
	d := &Document{}
	lists := map[uintptr]Kind{}
	for _, k := range kinds {
		name := k.kind()
		tv := reflect.ValueOf(k.tableIn(c))
		prev, dup := tables[tv.Pointer()]
		require.False(t, dup, "%s and %s share a table", name, prev)
		tables[tv.Pointer()] = name

		e, err := k.decode([]byte(`{}`))
		require.NoError(t, err)
		assert.Equal(t, name, KindOf(e), "the entity %T decoded for %s", e, name)

		before := len(k.inDocument(d))
		k.tableIn(c).putEntity(e)
		k.export(c, d, true)
		assert.Len(t, k.inDocument(d), before+1, "%s exports to its own list", name)
		lists[reflect.ValueOf(k.inDocument(d)[0]).Pointer()] = name
	}
	assert.Len(t, Kinds, len(kinds))
	assert.Equal(t, reflect.TypeOf(Composition{}).NumField()-3, len(kinds), "a Table per kind, plus Revision, LastID and CredentialKey")

	dt := reflect.TypeOf(Document{})
	dv := reflect.ValueOf(d).Elem()
	for i := range dt.NumField() {
		f := dt.Field(i)
		if f.Type.Kind() != reflect.Slice || f.Name == "CredentialKey" {
			continue
		}
		want := Kind(strings.Split(f.Tag.Get("json"), ",")[0])
		list := dv.Field(i)
		require.Equal(t, 1, list.Len(), "Document.%s holds the one %s exported", f.Name, want)
		assert.Equal(t, want, lists[list.Index(0).Pointer()], "Document.%s is the list of kind %s", f.Name, want)
	}
}

func TestUnknownKind(t *testing.T) {
	_, err := DecodeEntity("widgets", []byte(`{}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown kind "widgets"`)
	assert.PanicsWithValue(t, `composition: unknown kind "widgets"`, func() { New().Each("widgets", func(Entity) {}) })
}
