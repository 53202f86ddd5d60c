//go:build linux

package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// CMD's signal state, through the real agent binary started as a script's
// background job would start it (SIGINT and SIGQUIT ignored) under nohup
// (SIGHUP ignored), by a parent that also left signals blocked: CMD starts
// with no signal blocked, and ignores SIGHUP and SIGINT, as under tini, so
// that the hang-up or Ctrl-C meant for the script does not end it. SIGQUIT
// is not kept ignored: Go's runtime takes over every signal but those two
// before the agent's code runs, so the agent cannot know it was ignored
// (supervise.ForwardedSignals).
func TestCommandStartsWithACleanSignalState(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "sigstate")
	for _, tc := range []struct {
		name    string
		wrap    string // how the agent is started
		wantIgn uint64
	}{
		{"clean", `exec "$AGENT" "$@"`, 0},
		{"ignored and blocked", `trap '' HUP INT QUIT
exec env ` + blockEnv + `=10,13,14 "$TESTBIN" -test.run='^TestHelperBlockedExec$' -- "$AGENT" "$@"`,
			testenv.SigBit(syscall.SIGHUP) | testenv.SigBit(syscall.SIGINT)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "start-agent")
			body := fmt.Sprintf("#!/bin/sh\nAGENT=%q\nTESTBIN=%q\n%s\n", testenv.AgentBinary(t), os.Args[0], tc.wrap)
			require.NoError(t, os.WriteFile(script, []byte(body), 0o755))
			file := out + "-" + strings.ReplaceAll(tc.name, " ", "-")
			// sed reads its own state, exec'd in sh's place: dash runs
			// any other command with every signal blocked around its vfork,
			// then clears its own mask, so reading sh's state, or that of
			// a child sh forked, would show all blocked or none, whatever
			// CMD was given.
			a := testenv.StartAgentOf(t, script, "", "--", "sh", "-c",
				`exec sed -n 's/^Sig\(Blk\|Ign\):[[:space:]]*//p' /proc/self/status > "$0"`, file)
			code, exited := a.Wait(30 * time.Second)
			require.True(t, exited, "the agent exits with its command")
			require.Equal(t, 0, code, "agent output:\n%s", a.Output.String())
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			f := strings.Fields(string(b))
			require.Len(t, f, 2, "CMD's SigBlk and SigIgn: %q", b)
			blk, ign := testenv.ParseSigMask(t, f[0]), testenv.ParseSigMask(t, f[1])
			assert.Zero(t, blk, "CMD starts with no signal blocked (SigBlk %x)", blk)
			assert.Equal(t, tc.wantIgn, ign&^testenv.GlibcSignals, "CMD's ignored signals (SigIgn %x)", ign)
		})
	}
}

// blockEnv lists the signals TestHelperBlockedExec blocks.
const blockEnv = "PORTOLAN_AGENT_TEST_BLOCK"

// TestHelperBlockedExec is not a test: run as `env PORTOLAN_AGENT_TEST_BLOCK=N,M
// agent.test -test.run=^TestHelperBlockedExec$ -- ARGV`, it execs ARGV with
// signals N, M blocked (testenv.ExecBlockedWhenAsked); run otherwise, it
// returns at once.
func TestHelperBlockedExec(t *testing.T) { testenv.ExecBlockedWhenAsked(blockEnv) }
