package coordinator_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// The console of a large provider's home, a real coordinator process:
// 1,000 services × 10 applications made through the Account Management
// API by 8 concurrent writers (as agent/idle_rss_large_composition_bench_test.go),
// 200 instances registered and heartbeating through the agent API, and
// headless Chromium on the console. It proves, asserting on bytes and
// counts only (figures are logged for BENCHMARKS.md):
//   - each page the console serves is bounded (well under 256 KiB) and its
//     lists are paged;
//   - a service named <img src=x onerror=alert(1)> shows as text on the
//     large lists, no element made of it (html/template escaping);
//   - the map's service filter over the fleet keeps exactly that service's
//     instances;
//   - a watching browser costs home no re-fetch: over an idle window the
//     live view fetches no page again, and the event stream carries only
//     its heartbeat comments (the SSE comment lines of
//     https://html.spec.whatwg.org/multipage/server-sent-events.html,
//     "lines starting with a U+003A COLON character are ignored").
//
// Home's CPU ticks (/proc/<pid>/stat utime+stime) are logged for windows
// with no, one and ten watching browsers.

const (
	largeServices  = 1000
	largeAppsPer   = 10
	largeInstances = 200
	xssName        = `<img src=x onerror=alert(1)>`
	xssService     = 777
	watchWindow    = 16 * time.Second // past one 15 s heartbeat of the event stream
)

// composeLargeHome makes the composition through the Admin API and returns
// the services' ids.
func composeLargeHome(t *testing.T, co *testenv.Coordinator) []string {
	t.Helper()
	return co.ComposeLarge(t, largeServices, largeAppsPer, func(i int) string {
		if i == xssService {
			return xssName
		}
		return fmt.Sprintf("S%04d", i)
	})
}

// fleet registers largeInstances instances, service svc%04d of i%50 for
// instance i, and heartbeats them every 10 s until the test ends.
func fleet(t *testing.T, co *testenv.Coordinator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clients := make([]*client.Client, largeInstances)
	testenv.InParallel(largeInstances, func(i int) {
		c, err := client.New(client.Config{Address: co.URL, Token: testenv.AgentToken, Timeout: 30 * time.Second})
		require.NoError(t, err)
		_, err = c.Register(ctx, fmt.Sprintf("inst-%03d", i), &registry.Registration{Service: fmt.Sprintf("svc%04d", i%50),
			Address: "10.0.0.1", Port: 8000 + i, Labels: map[string]string{"zone": fmt.Sprintf("z%d", i%4)},
			TTL: registry.Duration(30 * time.Second)})
		require.NoError(t, err)
		clients[i] = c
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for i, c := range clients {
				_, _ = c.Heartbeat(ctx, fmt.Sprintf("inst-%03d", i), &registry.Heartbeat{Status: registry.StatusPassing})
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// homePID finds the coordinator process listening on co.Addr.
func homePID(t *testing.T, co *testenv.Coordinator) int {
	t.Helper()
	paths, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "--listen" && i+1 < len(args) && args[i+1] == co.Addr && slices.Contains(args, "coordinator") {
				pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				require.NoError(t, err)
				return pid
			}
		}
	}
	t.Fatalf("no coordinator process listens on %s", co.Addr)
	return 0
}

// cpuTicks is a process's utime+stime (clock ticks) and its resident KiB.
func cpuTicks(t *testing.T, pid int) (ticks int64, rssKiB int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:])) // fields from 3 (state) on
	ut, err := strconv.ParseInt(f[11], 10, 64)                               // field 14
	require.NoError(t, err)
	st, err := strconv.ParseInt(f[12], 10, 64) // field 15
	require.NoError(t, err)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	if m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status); m != nil {
		rssKiB, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return ut + st, rssKiB
}

// consoleClient logs in to the console with the access token over HTTP.
func consoleClient(t *testing.T, co *testenv.Coordinator) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(co.URL + "/ui/login")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	require.NotNil(t, m, "the login form has a CSRF field")
	req, err := http.NewRequest(http.MethodPost, co.URL+"/ui/login",
		strings.NewReader(url.Values{"csrf": {string(m[1])}, "token": {co.Token}, "next": {"/ui/"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", co.URL)
	resp, err = hc.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "logged in and shown the map")
	return hc
}

// streamBytes reads the map's event stream for a window and counts its
// bytes, events and comment lines.
func streamBytes(ctx context.Context, t *testing.T, hc *http.Client, base string) (bytes, events, comments *atomic.Int64) {
	t.Helper()
	bytes, events, comments = &atomic.Int64{}, &atomic.Int64{}, &atomic.Int64{}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ui/events", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			bytes.Add(int64(len(line) + 1))
			switch {
			case strings.HasPrefix(line, "event:"):
				events.Add(1)
			case strings.HasPrefix(line, ":"):
				comments.Add(1)
			}
		}
	}()
	return bytes, events, comments
}

// loginBrowser starts Chromium and logs in; the map is on screen after.
func loginBrowser(t *testing.T, co *testenv.Coordinator) *browser {
	t.Helper()
	b := newBrowser(t, co.URL)
	if err := chromedp.Do(b.ctx,
		chromedp.Navigate(co.URL+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), co.Token),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#map-live`)),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	return b
}

// navigation is what the tab's last navigation fetched and how long its
// first render took (logged, never asserted).
type navigation struct {
	Bytes int     `json:"bytes"`
	DCL   float64 `json:"dcl"`
}

const navigationJS = `(() => { const n = performance.getEntriesByType('navigation')[0];
	return {bytes: n.decodedBodySize, dcl: n.domContentLoadedEventEnd}; })()`

// refetchesJS counts the pages the live map fetched again (console.js's
// refetch), which an idle fleet must not cause.
const refetchesJS = `performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch').length`

func TestConsoleOfALargeHomeIsBoundedAndWatchingCostsNoRefetch(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sids := composeLargeHome(t, co)
	fleet(t, co)
	pid := homePID(t, co)
	require.Eventually(t, func() bool { return len(co.Map(t).Services) >= largeServices }, 30*time.Second, 100*time.Millisecond)

	measureWatch := func(label string, browsers []*browser) { watchWindowCost(t, co, pid, label, browsers) }
	measureWatch("no browser (the test's own stream only)", nil)

	b := loginBrowser(t, co)
	pages := []string{"/ui/", "/ui/services", "/ui/services?page=8", "/ui/services/" + sids[xssService],
		"/ui/traffic", "/ui/?service=svc0005", "/ui/?label=zone%3Dz1"}
	for _, p := range pages {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(co.URL+p), chromedp.WaitReady(chromedp.CSS(`main`))); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		nav := eval[navigation](t, b, navigationJS)
		t.Logf("GET %s: %d bytes, first render (DOMContentLoaded) %.0f ms", p, nav.Bytes, nav.DCL)
		assert.Less(t, nav.Bytes, 256<<10, "%s is bounded", p)
		assert.Zero(t, eval[int](t, b, `document.querySelectorAll('main img').length`), "%s: no name became an element", p)
		if p == "/ui/services" || p == "/ui/traffic" || p == "/ui/services/"+sids[xssService] { // "<" sorts it first
			assert.Contains(t, eval[string](t, b, `document.querySelector('main').textContent`), xssName, "%s shows the name as text", p)
		}
	}
	for _, list := range []string{"/ui/services", "/ui/traffic"} { // were whole: 1,000 rows on /ui/traffic
		require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(co.URL+list), chromedp.WaitReady(chromedp.CSS(`main`))))
		assert.Equal(t, 100, eval[int](t, b, `document.querySelectorAll('a.service-link, a.service-traffic-link').length`),
			"%s shows one page of the services", list)
		assert.Equal(t, 1, eval[int](t, b, `document.querySelectorAll('nav.pager a[rel=next]').length`), "%s links the next page", list)
	}
	rows := `document.querySelectorAll('tr[data-id]').length`
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(co.URL+"/ui/?service=svc0005"), chromedp.WaitVisible(chromedp.CSS(`#map-live`))))
	assert.Equal(t, largeInstances/50, eval[int](t, b, rows), "the service filter keeps its instances only")
	assert.True(t, eval[bool](t, b, `[...document.querySelectorAll('tr[data-id]')].every(tr => ['005','055','105','155'].includes(tr.dataset.id.slice(-3)))`))
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(co.URL+"/ui/?label=zone%3Dz1"), chromedp.WaitVisible(chromedp.CSS(`#map-live`))))
	assert.Equal(t, largeInstances/4, eval[int](t, b, rows), "the label filter keeps a quarter of the fleet: one page")

	// Watching: the map's first page, idle fleet (heartbeats, no change).
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(co.URL+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`#map-live`))))
	measureWatch("one watching browser", []*browser{b})
	browsers := []*browser{b}
	for len(browsers) < 10 {
		browsers = append(browsers, loginBrowser(t, co))
	}
	measureWatch("ten watching browsers", browsers)
}

// watchWindowCost measures home over watchWindow while browsers watch the
// map's first page and the test's own stream reads it: CPU ticks and RSS
// (logged), and what the watching cost in re-fetches and stream bytes
// (asserted).
func watchWindowCost(t *testing.T, co *testenv.Coordinator, pid int, label string, browsers []*browser) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bytes, events, comments := streamBytes(ctx, t, consoleClient(t, co), co.URL)
	require.Eventually(t, func() bool { return events.Load() == 1 }, 10*time.Second, 20*time.Millisecond, "the first, full event")
	first := bytes.Load()
	before := make([]int, len(browsers))
	for i, br := range browsers {
		before[i] = eval[int](t, br, refetchesJS)
	}
	t0, rss0 := cpuTicks(t, pid)
	time.Sleep(watchWindow) // the window measured: nothing to poll for, its length is the figure's unit
	t1, rss1 := cpuTicks(t, pid)
	t.Logf("%s: home CPU %d ticks in %v (%.1f ticks/min), RSS %d → %d KiB; stream: %d bytes after the first event (%d), %d events, %d comments",
		label, t1-t0, watchWindow, float64(t1-t0)*float64(time.Minute)/float64(watchWindow), rss0, rss1,
		bytes.Load()-first, first, events.Load(), comments.Load())
	assert.Equal(t, int64(1), events.Load(), "%s: an idle fleet sends no update after the first", label)
	assert.LessOrEqual(t, bytes.Load()-first, int64(len(": heartbeat\n\n"))*int64(watchWindow/(15*time.Second)+1),
		"%s: the stream carries its heartbeats only", label)
	for i, br := range browsers {
		assert.Equal(t, before[i], eval[int](t, br, refetchesJS), "%s: browser %d fetched no page again", label, i)
	}
}
