package console_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// These tests drive the console of a real coordinator (testenv) in
// headless Chromium, as an operator's browser does: what they hold (no
// script of anyone's but the console's runs; the page says when its live
// view is stale) only a browser can show.

// tab is one headless Chromium tab, closed when the test ends.
type tab struct {
	ctx context.Context
}

// openTab starts headless Chromium (testenv.Chromium).
func openTab(t *testing.T) *tab {
	t.Helper()
	return &tab{ctx: testenv.Chromium(t)}
}

// do runs steps in the tab; a failing step fails the test with the text
// the page showed.
func (b *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("browser step %q: %v\npage text:\n%s", what, err, text)
	}
}

// eval returns the value of a JavaScript expression in the tab.
func eval[T any](t *testing.T, b *tab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

// logIn signs the tab in to co's console with co's access token and waits
// for the map.
func (b *tab) logIn(t *testing.T, co *testenv.Coordinator) {
	t.Helper()
	b.do(t, "log in",
		chromedp.Navigate(co.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), co.Token),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#map-live`)),
	)
}

// send makes a 3scale API call on co with its access token and requires
// a 2xx answer.
func send(t *testing.T, co *testenv.Coordinator, method, path, contentType, body string) {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.True(t, resp.StatusCode/100 == 2, "%s %s: %s: %s", method, path, resp.Status, b)
}
