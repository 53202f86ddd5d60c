package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A coordinator that cannot start ends the demo at once, exit code 1 and
// an error saying so, not "interrupted" with 130 (which main promises only
// for Ctrl-C or SIGTERM); and the demo does not wait out the stop timeout
// of a process that has already exited.
func TestDemoCoordinatorExitEndsPromptlyWithItsError(t *testing.T) {
	// A "coordinator" that exits at once, failing.
	falseBin := filepath.Join(t.TempDir(), "coordinator")
	if err := os.WriteFile(falseBin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DEMO_RUN_MAIN=1", "DEMO_ARGS=--bin "+falseBin)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d (%v), want 1\n%s", code, err, out)
	}
	if !strings.Contains(string(out), "coordinator exited") {
		t.Errorf("the demo does not say the coordinator exited:\n%s", out)
	}
	if took > 5*time.Second {
		t.Errorf("the demo took %v to end after its coordinator exited, want under 5s", took)
	}
}
