package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// TestMain doubles as the demo command when a test re-executes the test
// binary (DEMO_RUN_MAIN=1, its arguments in DEMO_ARGS).
func TestMain(m *testing.M) {
	if os.Getenv("DEMO_RUN_MAIN") == "1" {
		os.Args = append([]string{"demo"}, strings.Fields(os.Getenv("DEMO_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dataDirLine is where the demo says its data dir is.
var dataDirLine = regexp.MustCompile(`\(data in ([^)]+)\)`)

// TestDemoInterruptedStopsProcessesAndRemovesData interrupts the demo as a
// terminal's Ctrl-C does (SIGINT to its whole process group) and as kill
// or a supervisor does (SIGTERM to the demo alone), at two of its steps:
// it must stop the coordinator and the agents it started and remove its
// data dir, which holds home's CA key and the tokens.
func TestDemoInterruptedStopsProcessesAndRemovesData(t *testing.T) {
	bin, agent := testenv.Binary(t), testenv.AgentBinary(t)
	news := filepath.Join(filepath.Dir(bin), "newsapi")
	for _, tc := range []struct {
		name  string
		at    string // the step the signal comes at
		group bool   // to the whole process group
		sig   syscall.Signal
	}{
		{"ctrl-c", "==> Adding a consumer", true, syscall.SIGINT},
		{"kill", "==> Calling the news API", false, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DEMO_RUN_MAIN=1", "DEMO_ARGS=--bin "+bin+" --agent-bin "+agent+
				" --newsapi "+news+" --spec ../newsapi/openapi.yaml --composition ../newsapi/portolan")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stderr := &testenv.SyncBuffer{}
			cmd.Stderr = stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited, waiting := make(chan struct{}), false
			t.Cleanup(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				if waiting {
					<-exited
				} else {
					_ = cmd.Wait()
				}
			})
			dir := readUntil(t, bufio.NewScanner(stdout), stderr, tc.at)
			waiting = true
			go func() { _ = cmd.Wait(); close(exited) }()
			pid := cmd.Process.Pid
			if tc.group {
				pid = -pid
			}
			if err := syscall.Kill(pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Fatal("the demo did not stop within 30s of the signal")
			}
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit code %d, want 130 (interrupted)", code)
			}
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) && len(processesNaming(dir)) > 0 {
				time.Sleep(100 * time.Millisecond)
			}
			if left := processesNaming(dir); len(left) > 0 {
				for pid := range left {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
				t.Errorf("still running after the demo stopped: %v", left)
			}
			if _, err := os.Stat(dir); err == nil {
				_ = os.RemoveAll(dir)
				t.Errorf("the demo's data dir %s (home's CA key, tokens) is left behind", dir)
			}
		})
	}
}

// readUntil reads the demo's output until a line holds step, and returns
// the data dir it named on the way; the rest of the output is drained. If
// the demo ends first, its error output says why.
func readUntil(t *testing.T, sc *bufio.Scanner, stderr *testenv.SyncBuffer, step string) string {
	t.Helper()
	var dir string
	for sc.Scan() {
		line := sc.Text()
		if m := dataDirLine.FindStringSubmatch(line); m != nil {
			dir = m[1]
		}
		if strings.Contains(line, step) {
			go func() {
				for sc.Scan() {
				}
			}()
			if dir == "" {
				t.Fatal("the demo never said where its data is")
			}
			return dir
		}
	}
	t.Fatalf("the demo ended before %q (data in %q); it said:\n%s", step, dir, stderr)
	return ""
}

// processesNaming returns the processes whose command line holds s, by
// pid: the demo's coordinator and agents name its data dir.
func processesNaming(s string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			out[pid] = strings.ReplaceAll(string(b), "\x00", " ")
		}
	}
	return out
}
