package swagger

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hostile spec's time is bounded by its size, not by the product of its
// parts (doc.go: "every input is size-bounded"): the agent build's
// management proxy reads --mgmt-spec without a schema check, and a spec from
// a URL is whatever the server sends.

// hostileBudget is the CPU time (cpuTime) a spec of a few hundred
// kilobytes may take to parse and select, even under -race; the quadratic
// readings took minutes.
const hostileBudget = 15 * time.Second

// cpuTime is the CPU time the test binary has used, user and system, all
// threads. A cost bound holds in it on a machine busy with other work (a
// CI running packages side by side), where wall time grows with the wait
// for a core.
func cpuTime(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Many path items refer (one YAML alias) to a reference nested 200 levels
// deep that refers to itself: following every chain anew, pointer by
// pointer, took 23 s to parse and 21 s to select for 10,000 paths (200 KB),
// and grew with every path. Each reference is followed once.
func TestHostileReferenceChainsCostOnePass(t *testing.T) {
	const depth, n = 200, 20000
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\ninfo: {title: t, version: '1'}\n")
	b.WriteString("x-r: &r '#" + strings.Repeat("/d", depth) + "'\n")
	b.WriteString("d: " + strings.Repeat("{d: ", depth-1) + "{$ref: *r}" + strings.Repeat("}", depth-1) + "\n")
	b.WriteString("x-items:\n  a: {$ref: '#/x-items/b'}\n  b: {$ref: '#/x-items/c'}\n  c: {get: {tags: [t]}}\n")
	b.WriteString("paths:\n  /real: {$ref: '#/x-items/a'}\n")
	for i := range n {
		fmt.Fprintf(&b, "  /p%d: {$ref: *r}\n", i)
	}
	start := cpuTime(t)
	s, err := Parse([]byte(b.String()), nil)
	require.NoError(t, err)
	sel, err := s.Select(Selection{Omit: []Rule{mustRule(t, "GET /real")}})
	require.NoError(t, err)
	took := cpuTime(t) - start
	t.Logf("CPU time: %v", took)
	assert.Less(t, took, hostileBudget, "parse and select of %d bytes", b.Len())

	// What the chains lead to is still read: a chain of three references
	// to a path item, and nothing through the cycle.
	require.Len(t, s.Operations(), 1)
	assert.Equal(t, "GET /real", s.Operations()[0].String())
	d, found := sel.Routes().Lookup("GET", "/real")
	assert.True(t, found)
	assert.False(t, d.Kept)
}

// Many templates under one segment (/{a}x0 ... /{a}xN) each looked for
// their twin among all the others while the route table was built: 48 s
// for 80,000 of them (1.9 MB), the square of their count.
func TestRoutesOfManySiblingTemplatesBuildInLinearTime(t *testing.T) {
	const n = 80000
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"/{a}x%d":{"get":{}}`, i)
	}
	b.WriteString(`,"/{b}x7":{"put":{}}}}`) // a twin of /{a}x7: one route
	start := cpuTime(t)
	s, err := Parse([]byte(b.String()), nil)
	require.NoError(t, err)
	sel, err := s.Select(Selection{})
	require.NoError(t, err)
	took := cpuTime(t) - start
	t.Logf("CPU time: %v", took)
	assert.Less(t, took, hostileBudget, "parse and select of %d templates", n)

	d, found := sel.Routes().Lookup("PUT", "/42x7")
	require.True(t, found)
	assert.Equal(t, "PUT /{b}x7", d.Operation.String())
	d, found = sel.Routes().Lookup("GET", "/42x7")
	require.True(t, found)
	assert.Equal(t, "GET /{a}x7", d.Operation.String())
}

func mustRule(t *testing.T, s string) Rule {
	t.Helper()
	r, err := ParseRule(s)
	require.NoError(t, err)
	return r
}
