package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMapOnly holds what cmd/portolan's filterMap promised before Only
// replaced it: all of the map without a name, the one service with it, an
// empty list (not null) for a name not on the map, the map left alone.
func TestMapOnly(t *testing.T) {
	m := Map{Index: 42, Revision: 7, Services: []MapService{
		{Name: "news", ID: 1}, {Name: "billing", ID: 2}, {Name: "legacy"}, {Name: "empty", ID: 3},
	}}
	assert.Equal(t, m, m.Only(""))
	f := m.Only("billing")
	require.Len(t, f.Services, 1)
	assert.Equal(t, "billing", f.Services[0].Name)
	assert.Equal(t, m.Index, f.Index)
	assert.Len(t, m.Services, 4, "the map itself is left alone")
	none := m.Only("nope")
	assert.NotNil(t, none.Services, "an empty list, not null, in JSON")
	assert.Empty(t, none.Services)
}
