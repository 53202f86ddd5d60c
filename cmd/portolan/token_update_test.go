package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/jointoken"
)

// TestTokenUpdateChangesTheCap: a token created without --max-instances
// is listed with home's default cap, `token update` changes it (the token
// string stays the one the containers hold), and --help says both.
func TestTokenUpdateChangesTheCap(t *testing.T) {
	home := startCoordinator(t, "admin")
	code, out, errOut := runCmd(t, "token", "create", "--home", home, "--token", "admin", "--service", "news")
	require.Equal(t, 0, code, errOut)
	tok, err := jointoken.Parse(strings.TrimSpace(out))
	require.NoError(t, err)

	code, out, errOut = runCmd(t, "token", "list", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "0/1000", "home's default cap")

	code, out, errOut = runCmd(t, "token", "update", tok.ID, "--home", home, "--token", "admin", "--max-instances", "25")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, tok.ID+": 0 live instances, at most 25\n", out)
	code, out, errOut = runCmd(t, "token", "list", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "0/25")

	code, _, errOut = runCmd(t, "token", "update", tok.ID, "--home", home, "--token", "admin")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "--max-instances N")
	code, _, errOut = runCmd(t, "token", "update", "0badc0de", "--home", home, "--token", "admin", "--max-instances", "3")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "404")

	_, help, _ := runCmd(t, "token", "create", "--help")
	assert.Contains(t, help, "--max-instances-per-token, 1000 by default")
	_, help, _ = runCmd(t, "coordinator", "--help")
	assert.Contains(t, help, "--max-instances-per-token")
}

// A token made before tokens had a cap by default is listed as having
// none, not as a cap of 0.
func TestTokenListShowsATokenWithoutCap(t *testing.T) {
	var b bytes.Buffer
	now := time.Now()
	require.NoError(t, renderTokens(&b, []registry.JoinTokenInfo{
		{ID: "0a0b0c0d", Instances: 3, CreatedAt: now},
		{ID: "1a1b1c1d", Instances: 2, MaxInstances: 1000, CreatedAt: now},
	}, now))
	assert.Contains(t, b.String(), "3/none")
	assert.Contains(t, b.String(), "2/1000")
}
