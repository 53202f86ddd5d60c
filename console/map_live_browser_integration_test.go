package console

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// liveTab is headless Chromium signed in to the console at url, on the map.
func liveTab(t *testing.T, url string) context.Context {
	t.Helper()
	ctx := testenv.Chromium(t)
	liveStep(t, ctx, "log in",
		chromedp.Navigate(url+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), testToken),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#map-live`)),
	)
	return ctx
}

// liveStep runs steps in the tab, failing the test with the page's text.
func liveStep(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("browser step %q: %v\npage text:\n%s", what, err, text)
	}
}

// livePoll waits until the JavaScript expression cond holds in the tab
// (generous: a loaded machine).
func livePoll(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	liveStep(t, ctx, what, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
}

// The map as an operator keeps it open while the fleet grows past the
// page. A page drawn before its stream's first update (at load, or before
// the browser reconnects the stream) draws itself again when a page
// appeared meanwhile, so its pager links to it; instances that come
// beyond the page are counted in place, in the fleet's total and in the
// headings of the page's services, without drawing the page again.
func TestLiveMapFollowsTheFleetBeyondThePage(t *testing.T) {
	f := newFleet(t, mapPageSize) // news 50, weather 50: one page, no pager
	c, srv := f.console(t)
	ctx := liveTab(t, srv.URL)
	livePoll(t, ctx, "the map is drawn", `document.querySelectorAll('tr[data-id]').length === 100 && !document.querySelector('nav.pager')`)
	require.Eventually(t, func() bool { return len(c.streams) == 1 }, 30*time.Second, 20*time.Millisecond, "the page's stream is open")

	// The stream drops; a page 2 appears before the browser reconnects
	// (it waits seconds), so the new stream's first update is a full one.
	srv.CloseClientConnections()
	_, err := f.reg.Register("zzz-00000", registry.Registration{Service: "weather", Address: "10.9.0.1", Port: 3000, AgentVersion: "test"})
	require.NoError(t, err)
	livePoll(t, ctx, "a pager links to the new page 2",
		`!!document.querySelector('nav.pager a[href*="page=2"]') && document.querySelector('[data-total]').textContent === '101 instances'`)

	// A mark on a row tells whether the page was drawn again.
	liveStep(t, ctx, "mark a row", chromedp.Evaluate[chromedp.Void](`document.querySelector('tr[data-id]').dataset.mark = '1'`))
	_, err = f.reg.Register("zzz-00001", registry.Registration{Service: "weather", Address: "10.9.0.2", Port: 3000, AgentVersion: "test"})
	require.NoError(t, err)
	livePoll(t, ctx, "the total and weather's heading count the instance on page 2",
		`document.querySelector('[data-total]').textContent === '102 instances' &&
		 document.querySelector('[data-group-total="weather"]').textContent === '52 instances' &&
		 document.querySelector('[data-group-total="news"]').textContent === '50 instances'`)
	require.Equal(t, "1", liveEval[string](t, ctx, `document.querySelector('tr[data-id]').dataset.mark`), "counted in place, not drawn again")
}

// liveEval returns the value of a JavaScript expression in the tab.
func liveEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}
