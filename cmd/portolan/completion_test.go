package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestCompletionScripts(t *testing.T) {
	for _, shell := range completionShells {
		code, stdout, stderr := runApp("completion", shell)
		require.Equal(t, 0, code, "%s: %s", shell, stderr)
		assert.Contains(t, stdout, "portolan", shell)
	}
	_, fish, _ := runApp("completion", "fish")
	for _, word := range []string{"coordinator", "agent", "map", "swagger", "version", "completion"} {
		assert.Contains(t, fish, word, "fish knows the commands")
	}

	code, _, stderr := runApp("completion", "tcsh")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown shell "tcsh": want bash, zsh, fish`)
	code, _, _ = runApp("completion")
	assert.Equal(t, 2, code)
}

// bash accepts the script, and the words it asks the binary for are the
// commands.
func TestCompletionBashParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "bash is part of the build image")
	_, script, _ := runApp("completion", "bash")
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

}

// The bash script, loaded in bash, completes from the binary: "portolan ma"
// offers map, "portolan swagger s" offers select.
func TestCompletionBashCompletes(t *testing.T) {
	bin := testenv.Binary(t)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(bin, filepath.Join(dir, "portolan")))
	_, script, _ := runApp("completion", "bash")
	complete := func(words ...string) []string {
		t.Helper()
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) +
			"; _portolan; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.Fields(string(out))
	}
	assert.Equal(t, []string{"map"}, complete("portolan", "ma"))
	assert.Equal(t, []string{"select"}, complete("portolan", "swagger", "se"))
	assert.Contains(t, complete("portolan", "map", "--ho"), "--home")
}
