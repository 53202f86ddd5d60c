package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Two agents given one --cache-dir would take over each other's usage
// journals, credential and keys: the second is refused at start, naming the
// directory; once the first is gone (kill -9 included) the directory is free.
func TestCacheDirServesOneAgentAtATime(t *testing.T) {
	a := testenv.StartAgentAt(t, "", "--", "sleep", "30")
	require.Eventually(t, func() bool { _, ok := a.Self(); return ok }, 10*time.Second, 20*time.Millisecond)

	b := testenv.StartAgentAt(t, "", "--cache-dir", a.CacheDir, "--", "sleep", "30")
	code, exited := b.Wait(10 * time.Second)
	require.True(t, exited, "a second agent on the same cache directory started")
	assert.NotZero(t, code)
	assert.Contains(t, b.Output.String(), "--cache-dir "+a.CacheDir+" is in use by another running agent")

	a.Kill9()
	c := testenv.StartAgentAt(t, "", "--cache-dir", a.CacheDir, "--", "sleep", "30")
	require.Eventually(t, func() bool { _, ok := c.Self(); return ok }, 10*time.Second, 20*time.Millisecond,
		"the killed agent's lock outlived it:\n%s", c.Output.String())
}
