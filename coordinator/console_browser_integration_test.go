package coordinator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// browser is one headless Chromium tab on the console of a coordinator,
// writing its screenshots under shots.
type browser struct {
	ctx   context.Context
	base  string // the coordinator's URL
	shots string
}

// newBrowser starts headless Chromium for the test; it is closed when the
// test ends.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	ctx := testenv.Chromium(t, chromedp.WindowSize(1280, 900))
	return &browser{ctx: ctx, base: base, shots: t.TempDir()}
}

// browse runs steps in the tab, then writes a full-page screenshot named
// name.png; a failing step fails the test with what the page showed.
// Steps of the console's other pages are added as browse calls.
func browse(t *testing.T, b *browser, name string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("browser step %q: %v\npage text:\n%s", name, err, text)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	path := filepath.Join(b.shots, name+".png")
	require.NoError(t, os.WriteFile(path, shot, 0o600))
	t.Logf("screenshot %s", path)
}

// eval returns the value of a JavaScript expression in the tab.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

// requireLoginFirst holds the coordinator's wiring: /ui redirects to
// /ui/, and nothing under /ui/ but the login form and the static files
// answers without a session.
func requireLoginFirst(t *testing.T, base string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{
		"/ui": http.StatusMovedPermanently, "/ui/": http.StatusSeeOther, "/ui/map": http.StatusSeeOther,
		"/ui/instances/x": http.StatusSeeOther, "/ui/events": http.StatusUnauthorized,
		"/ui/login": http.StatusOK, "/ui/static/console.js": http.StatusOK,
	} {
		resp, err := hc.Get(base + path)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, "GET %s", path)
	}
}

// statusJS is the script that reads an instance's status cell on the map.
func statusJS(id string) string {
	return fmt.Sprintf(`(document.querySelector('tr[data-id=%q] [data-status]') || {}).textContent`, id)
}

// TestConsoleShowsAKilledAgentCriticalWithoutReload: headless Chromium logs
// in with the access token, sees three instances passing on the map, and,
// after one agent is killed with SIGKILL, sees that instance turn critical
// within its TTL + 1 s with no reload; then opens its detail page, a
// service of the composition and its traffic charts.
func TestConsoleShowsAKilledAgentCriticalWithoutReload(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")
	co.Create(t, "/admin/api/services/"+svc+"/application_plans.json", "name=Basic&system_name=basic")
	const ttl = time.Second // the shortest TTL home accepts
	var agents []*testenv.Agent
	var ids []string
	for i := range 3 {
		a := testenv.StartAgent(t, co, "--service", "newsapi", "--port", fmt.Sprint(3000+i),
			"--label", fmt.Sprintf("zone=z%d", i), "--heartbeat", "300ms", "--ttl", ttl.String(), "--", "sleep", "120")
		agents = append(agents, a)
		ids = append(ids, a.ID())
	}
	require.Eventually(t, func() bool {
		m := co.Map(t)
		for _, id := range ids {
			if in, ok := testenv.FindInstance(m, id); !ok || in.Status != registry.StatusPassing {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "three instances passing")

	requireLoginFirst(t, co.URL)
	b := newBrowser(t, co.URL)
	browse(t, b, "login",
		chromedp.Navigate(co.URL+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), co.Token),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#map-live`)),
	)
	browse(t, b, "map-passing",
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('tr[data-id] [data-status]').length === 3 &&
			[...document.querySelectorAll('tr[data-id] [data-status]')].every(td => td.textContent === "passing")`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)),
	)
	require.Equal(t, 3, eval[int](t, b, `document.querySelectorAll('tr[data-id]').length`), "three instances on the map")
	eval[bool](t, b, `window.portolanNoReload = true`) // a mark a reload would wipe

	victim := ids[1]
	agents[1].Kill9()
	killed := time.Now()
	var took time.Duration
	browse(t, b, "map-critical",
		chromedp.Poll[chromedp.Void](statusJS(victim)+` === "critical"`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(ttl+time.Second)),
		chromedp.Func(func(context.Context, *chromedp.Target) error { took = time.Since(killed); return nil }),
	)
	t.Logf("critical on screen %v after the kill (TTL %v)", took, ttl)
	require.Equal(t, registry.StatusCritical, eval[string](t, b, statusJS(victim)))
	require.True(t, eval[bool](t, b, `window.portolanNoReload === true`), "the page was patched in place, not reloaded")
	require.LessOrEqual(t, took, ttl+time.Second, "critical on screen within TTL + 1 s of the kill")

	browse(t, b, "instance",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/ui/instances/%s"]`, victim))),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)),
	)
	detail := eval[string](t, b, `document.querySelector('main').innerText`)
	for _, want := range []string{"Instance " + victim, "critical", "newsapi", "zone=z1", ":3001", "Last heartbeat"} {
		require.True(t, strings.Contains(detail, want), "the detail page shows %q:\n%s", want, detail)
	}

	browse(t, b, "service",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/services"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.service-link`)),
		chromedp.Click(chromedp.CSS(`a.service-link[href="/ui/services/`+svc+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)),
	)
	page := eval[string](t, b, `document.querySelector('main').innerText`)
	for _, want := range []string{"Service News", "newsapi", "Basic"} {
		require.True(t, strings.Contains(page, want), "the service page shows %q:\n%s", want, page)
	}
	browse(t, b, "traffic",
		chromedp.Navigate(co.URL+"/ui/traffic?service="+svc),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
	)
	require.Equal(t, 2, eval[int](t, b, `document.querySelectorAll('svg.chart[role=img]').length`), "the last hour's and the last day's charts")
}
