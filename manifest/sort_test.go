package manifest_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/manifest"
)

// Documents written in any order sort into the export's order, mapping
// rules aside (their order is their meaning).
func TestSortGivesTheExportOrder(t *testing.T) {
	want := manifest.Export(buildComposition(t), manifest.ExportOptions{})
	got := manifest.Export(buildComposition(t), manifest.ExportOptions{})
	r := rand.New(rand.NewPCG(1, 2))
	shuffle := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	for i := range got {
		if s := got[i].Service; s != nil {
			shuffle(len(s.Metrics), func(i, j int) { s.Metrics[i], s.Metrics[j] = s.Metrics[j], s.Metrics[i] })
			for _, m := range s.Metrics {
				slices.Reverse(m.Methods)
			}
			slices.Reverse(s.Plans)
			for _, p := range s.Plans {
				slices.Reverse(p.Limits)
				slices.Reverse(p.PricingRules)
			}
		}
		if a := got[i].Account; a != nil {
			slices.Reverse(a.Applications)
		}
	}
	slices.Reverse(got)
	assert.NotEqual(t, want, got)
	manifest.Sort(got)
	assert.Equal(t, want, got)
}
