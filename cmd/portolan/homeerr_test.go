package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With home down, every admin command prints one line naming home and why,
// not the transport's stack of wrapped errors, and exits non-zero.
func TestAdminCommandsHomeDown(t *testing.T) {
	home := "http://" + closedAddr(t)
	file := filepath.Join(t.TempDir(), "composition.json")
	require.NoError(t, os.WriteFile(file, []byte(`{}`), 0o600))
	down := "home at " + home + " is unreachable: connection refused (is `portolan coordinator` running there? see --home)\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--home", home, "--token", "t"}, "portolan: export: " + down},
		{[]string{"import", "composition", file, "--home", home, "--token", "t"}, "portolan: import composition: " + down},
		{[]string{"token", "list", "--home", home, "--token", "t"}, "portolan: token list: " + down},
		{[]string{"token", "revoke", "--home", home, "--token", "t", "some-id"}, "portolan: token revoke: " + down},
		{[]string{"map", "--home", home, "--token", "t"}, "portolan: map: " + down},
	} {
		code, out, errOut := runCmd(t, tc.args...)
		assert.Equal(t, 1, code, "%v", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.Equal(t, tc.want, errOut, "%v", tc.args)
	}
}

// A refused token is named as such by the admin commands too, with home's
// reason, and never printed.
func TestAdminCommandsTokenRefused(t *testing.T) {
	home := startCoordinator(t, "admin")
	for _, args := range [][]string{
		{"token", "list", "--home", home, "--token", "wrong-token"},
		{"export", "--home", home, "--token", "wrong-token"},
	} {
		code, _, errOut := runCmd(t, args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Contains(t, errOut, "home refused the token (HTTP 403", "%v", args)
		assert.NotContains(t, errOut, "wrong-token", "%v", args)
	}
}
