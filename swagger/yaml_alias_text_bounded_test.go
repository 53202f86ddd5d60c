package swagger

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/swagger/openapischema"
)

// aliasedTextSpec is a YAML document of about size bytes whose one long
// scalar is repeated through n aliases: each alias costs three bytes of the
// document and the scalar's whole length once the document is expanded.
func aliasedTextSpec(size, n int) []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-text: &s " + strings.Repeat("a", size) + "\nx-copies: [")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("*s")
	}
	b.WriteString("]\n")
	return []byte(b.String())
}

// The text a YAML document expands to through aliases is bounded like its
// values are (maxNodes): an alias of a long scalar is one value, yet it
// repeats the whole scalar in the document Portolan keeps and serves as
// JSON (Spec.JSON, the management proxy's /openapi.json, an imported
// ActiveDoc). A 1 MiB scalar behind 2,000 aliases, a 1 MiB document, made
// a 2 GiB JSON document and took about ten times that in allocations: the
// agent build (no schema check) reading --mgmt-spec, or `portolan import
// openapi` of a spec from a URL, ran out of memory. libopenapi bounds
// alias expansion for the same reason (datamodel.DocumentConfiguration
// AllowExcessiveAliases, off by default), and YAML 1.2.2 §3.2.2.2 makes an
// alias a reference to its anchored node, not a copy a document pays for
// once. Here 64 aliases stand for the 2,000 (64 MiB expanded); the
// document is refused naming the cause, before its expansion is built.
func TestParseBoundsTextExpandedThroughAliases(t *testing.T) {
	doc := aliasedTextSpec(1<<20, 64)
	for _, tc := range []struct {
		name  string
		check SchemaCheck
	}{{"agent build, no schema check", nil}, {"full build", openapischema.Check}} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			done := make(chan error, 1)
			go func() {
				_, err := Parse(doc, tc.check)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("Parse of a %d-byte document of aliases still running after 30s", len(doc))
			}
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d MiB for a %d KiB document", allocated>>20, len(doc)>>10)
			require.Error(t, err, "a %d KiB document expanding to 64 MiB of text through aliases was accepted", len(doc)>>10)
			assert.Contains(t, err.Error(), "aliases")
			assert.Contains(t, err.Error(), "MiB of text")
			assert.Less(t, allocated, uint64(8*len(doc)), "bytes allocated to refuse it")
		})
	}
}

// A document that repeats a scalar through a few aliases, within the bound,
// still reads as written.
func TestParseKeepsTextRepeatedThroughAFewAliases(t *testing.T) {
	s, err := Parse(aliasedTextSpec(64<<10, 8), nil)
	require.NoError(t, err)
	assert.Greater(t, len(s.JSON()), 9*64<<10)
}
