package coordinator_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// An attacker who controls an image holds its service's join token and
// sends home whatever documents it likes, up to
// registry.MaxImageDocumentsBytes. These hold a real coordinator to
// answering each quickly, briefly and within bounded memory.

// coordinatorPID finds the coordinator process by its data dir, which is
// its own.
func coordinatorPID(t *testing.T, co *testenv.Coordinator) int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil || len(dirs) == 0 {
		testenv.Missing(t, "no /proc to read a process's memory from")
	}
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "--data-dir" && i+1 < len(args) && args[i+1] == co.DataDir {
				pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
				require.NoError(t, err)
				return pid
			}
		}
	}
	t.Fatalf("no process with --data-dir %s", co.DataDir)
	return 0
}

// peakRSS is a process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// putImageBody sends body as instance id's documents, with its credential.
func putImageBody(t *testing.T, co *testenv.Coordinator, cred, id, body string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, co.URL+registry.ImageCompositionPath(id), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("Authorization", "Bearer "+cred)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), time.Since(start)
}

// hostileImages are documents made to cost home, each within the image
// body's bound.
func hostileImages() map[string]string {
	head := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\n"
	backend := "apiVersion: portolan.dev/v1, kind: Backend, system_name: b, name: B, private_endpoint: http://b"
	list := func(n int) string { return "[" + strings.Repeat("x,", n) + "x]" }
	var wide strings.Builder
	wide.WriteString("{" + backend)
	for i := range 60_000 {
		wide.WriteString(", k" + strconv.Itoa(i) + ": 1")
	}
	wide.WriteString("}")
	return map[string]string{
		"a list aliased by each document":     "- &d {" + backend + ", metrics: " + list(250_000) + "}\n" + strings.Repeat("- *d\n", 9_999),
		"a list aliased across --- documents": head + "metrics: &l " + list(100_000) + "\n" + strings.Repeat("---\n{"+backend+", metrics: *l}\n", 4_000),
		"a wide mapping aliased":              "- &d " + wide.String() + "\n" + strings.Repeat("- *d\n", 9_999),
		"billion laughs": head + "proxy:\n  policy_chain:\n  - name: x\n    configuration:\n" +
			"      a: &a [x, x, x, x, x, x, x, x, x, x]\n      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
			"      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n      h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
		"deep nesting": head + "proxy:\n  policy_chain:\n  - name: x\n    configuration: " + strings.Repeat("[", 9_000) + strings.Repeat("]", 9_000) + "\n",
		"a long name in every error": "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: " + strings.Repeat("n", 900_000) + "\nname: N\nmapping_rules:\n" +
			strings.Repeat("- {http_method: GET, pattern: /, metric: z, delta: 1}\n", 60),
		"a long metric named by every rule": head + "mapping_rules:\n- {http_method: GET, pattern: /, metric: &m " + strings.Repeat("m", 900_000) + ", delta: 1}\n" +
			strings.Repeat("- {http_method: GET, pattern: /, metric: *m, delta: 1}\n", 60),
		"many empty documents": strings.Repeat("---\n", 250_000),
		"many small documents": strings.Repeat("---\n{"+backend+"}\n", 10_001),
		"one flat list":        head + "metrics: " + list(500_000) + "\n",
	}
}

// TestImageDocumentsMadeToHurtHomeAreRefusedCheaply: each is refused within
// a few seconds, with an answer of a few KiB, and the coordinator's peak
// memory stays bounded through all of them. Before aliases were charged by
// their length, one of these held home's CPU for minutes and allocated
// hundreds of GB; before names were bounded, one answer was 50 MB.
func TestImageDocumentsMadeToHurtHomeAreRefusedCheaply(t *testing.T) {
	co := testenv.StartCoordinator(t)
	pid := coordinatorPID(t, co)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	rev := co.Revision(t)
	for name, body := range hostileImages() {
		t.Run(name, func(t *testing.T) {
			require.LessOrEqual(t, len(body), registry.MaxImageDocumentsBytes, "within the body's bound")
			code, answer, took := putImageBody(t, co, home.Credential(), id, body)
			assert.True(t, code >= 400 && code < 500, "refused: %d %.300s", code, answer)
			assert.Less(t, took, 5*time.Second, "answered quickly")
			assert.Less(t, len(answer), 16<<10, "a short answer: %.300s", answer)
		})
	}
	assert.Equal(t, rev, co.Revision(t), "nothing was written")
	peak := peakRSS(t, pid)
	t.Logf("coordinator peak RSS %d MiB", peak>>20)
	assert.Less(t, peak, int64(384<<20), "peak RSS %d MiB", peak>>20)
}

// TestImageDocumentsOverTheBoundAreTooLarge: a body over
// registry.MaxImageDocumentsBytes is a 413 saying the bound, not a 422
// about a read error.
func TestImageDocumentsOverTheBoundAreTooLarge(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	code, answer, _ := putImageBody(t, co, home.Credential(), id, "# "+strings.Repeat("x", registry.MaxImageDocumentsBytes)+"\n")
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, answer)
	assert.Contains(t, answer, "the documents exceed 1048576 bytes")
}

// TestParallelImageBodiesAreDecodedOneAtATime: while YAML is parsed it costs
// about a hundred times its size, so eight instances each sending a body
// within the bound at once peaked home at 900 MiB; decoded one at a time
// they cost what one does.
func TestParallelImageBodiesAreDecodedOneAtATime(t *testing.T) {
	co := testenv.StartCoordinator(t)
	pid := coordinatorPID(t, co)
	tok := scopedToken(t, co, "news")
	body := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\nmetrics: [" + strings.Repeat("x,", 500_000) + "x]\n"
	type instance struct{ cred, id string }
	var instances []instance
	for i := range 8 {
		t.Run("register "+strconv.Itoa(i), func(t *testing.T) {
			home, id := registeredWith(t, co, tok, "news")
			instances = append(instances, instance{home.Credential(), id})
		})
	}
	var wg sync.WaitGroup
	codes := make([]int, len(instances))
	for i, in := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = putImageBody(t, co, in.cred, in.id, body)
		}()
	}
	wg.Wait()
	for _, code := range codes {
		assert.Equal(t, http.StatusUnprocessableEntity, code)
	}
	peak := peakRSS(t, pid)
	t.Logf("coordinator peak RSS %d MiB", peak>>20)
	assert.Less(t, peak, int64(384<<20), "peak RSS %d MiB", peak>>20)
}
