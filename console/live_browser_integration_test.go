package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// noteJS reads the map's live note, the line that says how current the
// map is.
const noteJS = `document.getElementById('map-live-note').textContent`

// TestMapSaysWhenHomeIsGoneAndWhenItCameBack: the map is the page an
// operator keeps open. When home dies, the page must say at once that what
// it shows is no longer live (an EventSource only retries, silently,
// leaving "Updated live." over statuses that may be stale); when home is
// back, with the session gone as a restart ends every session, the page
// must say to reload, and a reload must lead to the login form, not to a
// blank page.
func TestMapSaysWhenHomeIsGoneAndWhenItCameBack(t *testing.T) {
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")
	testenv.StartAgent(t, co, "--service", "newsapi", "--port", "3000", "--heartbeat", "300ms", "--", "sleep", "120")

	b := openTab(t)
	b.logIn(t, co)
	b.do(t, "the map is live",
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('tr[data-id]').length === 1`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	require.False(t, eval[bool](t, b, `document.getElementById('map-live').classList.contains('stale')`), "a live map is not marked stale")

	co.Kill()
	b.do(t, "the map says home is gone",
		chromedp.Poll[chromedp.Void](`/lost contact with home/i.test(`+noteJS+`)`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
	require.True(t, eval[bool](t, b, `document.getElementById('map-live').classList.contains('stale')`),
		"the statuses are marked as possibly out of date")

	co.Start() // a restart ends every session: the stream is refused
	b.do(t, "the map says to reload",
		chromedp.Poll[chromedp.Void](`/reload the page/i.test(`+noteJS+`)`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	note := eval[string](t, b, noteJS)
	require.True(t, strings.Contains(note, "stopped"), "the note says live updates stopped: %q", note)
	require.True(t, eval[bool](t, b, `document.getElementById('map-live').classList.contains('stale')`), "still marked stale")

	b.do(t, "a reload leads to the login form", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#token`)))
}
