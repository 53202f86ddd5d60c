package agent_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// BenchmarkExecToRegistered is the time from exec of `portolan agent` to the
// instance being on home's map (one op = one agent process).
func BenchmarkExecToRegistered(b *testing.B) {
	co := testenv.StartCoordinator(b)
	bin := testenv.Binary(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := co.Map(b).Index
		cmd := exec.Command(bin, "--log-level", "error", "agent", "--home", co.URL, "--token", testenv.AgentToken,
			"--service", "bench", "--api", "off", "--placement-file", b.TempDir()+"/p.json", "--", "sleep", "30")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		waitIndexAbove(b, co, before)
		b.StopTimer()
		elapsed := time.Since(start)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.ReportMetric(float64(elapsed.Microseconds())/1000, "ms/registered")
		b.StartTimer()
	}
}

// BenchmarkBaselineExecVersion is the baseline: exec of the same binary doing
// nothing but print its version.
func BenchmarkBaselineExecVersion(b *testing.B) {
	bin := testenv.Binary(b)
	for i := 0; i < b.N; i++ {
		if err := exec.Command(bin, "--version").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// waitIndexAbove blocks on the map until its index passes index.
func waitIndexAbove(b *testing.B, co *testenv.Coordinator, index uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, co.URL+"/v1/map?wait=10s&index="+strconv.FormatUint(index, 10), nil)
	req.Header.Set("Authorization", "Bearer "+co.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// BenchmarkIdleRSS reports the resident memory of an idle agent phoning home
// (its command is sleep), beside the demo news API, a small Go HTTP server.
func BenchmarkIdleRSS(b *testing.B) {
	co := testenv.StartCoordinator(b)
	for i := 0; i < b.N; i++ {
		a := testenv.StartAgent(b, co, "--service", "bench", "--heartbeat", "1s", "--", "sleep", "30")
		a.ID()
		time.Sleep(3 * time.Second) // a few heartbeats
		b.ReportMetric(float64(rssKiB(b, a.PID())), "agent-RSS-KiB")
		a.Kill9()

		news := exec.Command(strings.TrimSuffix(testenv.Binary(b), "portolan")+"newsapi", "--listen", testenv.FreeAddr(b))
		if err := news.Start(); err != nil {
			b.Skipf("no newsapi binary beside portolan (make build): %v", err)
		}
		time.Sleep(time.Second)
		b.ReportMetric(float64(rssKiB(b, news.Process.Pid)), "newsapi-RSS-KiB")
		_ = news.Process.Kill()
		_ = news.Wait()
	}
}

func rssKiB(b *testing.B, pid int) int {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
