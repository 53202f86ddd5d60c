package composition

import (
	"fmt"
	"testing"
)

// BenchmarkBuild builds compositions of about 3,000 and 12,000 entities
// through Tx.Create, as a desired composition is built from documents: the
// cost per entity should not grow with the composition.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{3000, 12000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				benchComposition(b, n)
			}
		})
	}
}
