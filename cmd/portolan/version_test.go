package main

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionCommand(t *testing.T) {
	old := version
	version = "1.2.3-test"
	t.Cleanup(func() { version = old })

	code, stdout, stderr := runApp("version")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "portolan version 1.2.3-test\ngo version "+runtime.Version()+"\nplatform "+runtime.GOOS+"/"+runtime.GOARCH+"\nbuild full\n", stdout)

	code, stdout, stderr = runApp("version", "--json")
	require.Equal(t, 0, code, stderr)
	var v versionInfo
	require.NoError(t, json.Unmarshal([]byte(stdout), &v))
	assert.Equal(t, versionInfo{Version: "1.2.3-test", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Build: "full"}, v)

	code, _, stderr = runApp("version", "extra")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "takes no arguments")
}
