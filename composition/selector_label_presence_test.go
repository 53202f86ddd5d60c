package composition

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A selector's label with an empty value picks instances that carry the
// label with that value, not those without it, as a Kubernetes selector's
// "key=" needs the key: a placement for {"pool": ""} must not place every
// unlabelled instance of the service.
func TestSelectorLabelWithAnEmptyValueNeedsTheLabel(t *testing.T) {
	s := Selector{Service: "news", Labels: map[string]string{"pool": ""}}
	assert.False(t, s.Matches("news", nil), "no labels")
	assert.False(t, s.Matches("news", map[string]string{"zone": "a"}), "another label only")
	assert.True(t, s.Matches("news", map[string]string{"pool": "", "zone": "a"}), "the label, empty")
	assert.False(t, s.Matches("news", map[string]string{"pool": "gold"}), "another value")
}
