package swagger

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referencesToLongPathItem is a JSON spec whose /big path item has a GET
// whose summary is size bytes and a DELETE, and n paths that are each a
// reference to /big (29 bytes each).
func referencesToLongPathItem(size, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/big":{"get":{"summary":"`)
	b.WriteString(strings.Repeat("a", size))
	b.WriteString(`"},"delete":{}}`)
	for i := range n {
		fmt.Fprintf(&b, `,"/p%d":{"$ref":"#/paths/~1big"}`, i)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// Selecting from a spec bounds the text it copies as it bounds the values:
// a path item that refers to a path losing operations is replaced by a copy
// of what it refers to (copier.inlined), so N references of 29 bytes to one
// path item with a long summary wrote N copies of the summary into the
// filtered document the management proxy keeps and serves. A 1 MiB summary
// and 10,000 references (1.3 MB of JSON) with DELETE /big omitted made a
// 10 GiB document: the agent ran out of memory at start. The value budget
// (maxNodes) counts each copy as a handful of values; OpenAPI's Reference
// Object is a pointer to one definition (OpenAPI 3.0.3 §4.7.23), not text
// to repeat. Here 64 references stand for the 10,000 (64 MiB copied); the
// selection is refused naming the cause, before the copies are made.
func TestSelectBoundsTextCopiedForReferences(t *testing.T) {
	s, err := Parse(referencesToLongPathItem(1<<20, 64), nil)
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		_, err := s.Select(Selection{Omit: []Rule{mustRule(t, "DELETE /big")}})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Select still running after 30s")
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d MiB", allocated>>20)
	require.Error(t, err, "64 copies of a 1 MiB path item were written")
	assert.Contains(t, err.Error(), "MiB of text")
	assert.Contains(t, err.Error(), "refer to components instead")
	assert.Less(t, allocated, uint64(32<<20), "bytes allocated to refuse it")
}

// A few references to a path item that loses operations are still copied,
// each keeping what it referred to.
func TestSelectCopiesAFewReferencesToAPathLosingOperations(t *testing.T) {
	s, err := Parse(referencesToLongPathItem(64<<10, 8), nil)
	require.NoError(t, err)
	sel, err := s.Select(Selection{Omit: []Rule{mustRule(t, "DELETE /big")}})
	require.NoError(t, err)
	doc, err := Parse(sel.Document(), nil)
	require.NoError(t, err)
	assert.Len(t, doc.Operations(), 17, "GET of /big, and GET and DELETE of its 8 copies")
	_, found := sel.Routes().Lookup("DELETE", "/p3")
	assert.True(t, found)
}
