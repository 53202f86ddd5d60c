package agent

import (
	"slices"
	"strings"
	"testing"
)

// FuzzExecArgs: any command splits without failing, and the words it
// splits into, quoted as a shell quotes them ('…', a quote as '\”),
// split back into themselves.
func FuzzExecArgs(f *testing.F) {
	for _, s := range []string{"", "redis-cli ping", `sh -c 'exit 0'`, `a "b \" c" d\ e`, `'unclosed`, `x\`, "a\tb\nc", `"$HOME" '\'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, command string) {
		args, err := execArgs(command)
		if err != nil {
			return
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		again, err := execArgs(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, args) {
			t.Fatalf("execArgs(%q) = %q; quoted back %q: %q, %v", command, args, strings.Join(quoted, " "), again, err)
		}
	})
}
