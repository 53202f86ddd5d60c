//go:build linux

package supervise_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CMD does not outlive a kill -9'd agent, although it is in a process
// group of its own.
func TestCMDDiesWithTheAgent(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOpts{}, helperConfig{Command: sh(`ev "PID $$"; idle`)})
	var pid int
	require.Eventually(t, func() bool {
		for _, l := range a.lines() {
			if s, ok := strings.CutPrefix(l, "PID "); ok {
				pid, _ = strconv.Atoi(s)
			}
		}
		return pid > 0
	}, 15*time.Second, 5*time.Millisecond)
	a.signal(t, syscall.SIGKILL)
	<-a.exited
	assert.Eventually(t, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		p, _ := parseStat(string(b))
		return p.state == "Z" || p.comm != "sh"
	}, 5*time.Second, 5*time.Millisecond, "CMD (pid %d) still runs", pid)
}

// Wait returns when its context ends, leaving CMD running; Stop then stops it.
func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOpts{}, helperConfig{Scenario: "wait", Command: []string{"sleep", "30"}})
	rep := a.wait(t)
	assert.Contains(t, rep.WaitErr, context.DeadlineExceeded.Error())
	assert.Equal(t, 128+15, rep.Code, "Stop forwarded SIGTERM")
}

// Other children of the agent, started through Spawn or CombinedOutput
// while a Supervisor runs, get their exit codes back from the reaper, and a
// CombinedOutput command runs with the environment given, not the agent's.
func TestSpawnAndCombinedOutputBesideASupervisor(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOpts{}, helperConfig{Scenario: "spawn", Command: []string{"sleep", "30"}})
	rep := a.wait(t)
	assert.Equal(t, 5, rep.SpawnCode)
	assert.Equal(t, 1, rep.OutputCode)
	assert.Equal(t, "out\nerr\n", rep.Output, "the command sees the environment given (GREETING) and not the agent's (HOME)")
	assert.Equal(t, 128+9, rep.TimeoutCode, "killed when its context ended")
	assert.Contains(t, rep.TimeoutErr, context.DeadlineExceeded.Error())
	assert.Equal(t, 128+15, rep.Code)
}
