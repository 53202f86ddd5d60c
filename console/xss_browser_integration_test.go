package console_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// xssPayload breaks out of an attribute and a text node, and would run
// script both inline and from an event handler: were it drawn as markup,
// window.pwned would be set and the page's title would be "pwned". It has
// no comma, as the agent's --label flag splits on commas.
const xssPayload = `"'><img src=x onerror="window.pwned=1;document.title='pwned'"><script>window.pwned=2</script>`

// inertJS reports what a payload did in the page: nothing, when it is all
// "ok".
const inertJS = `(() => {
	if (window.pwned !== undefined) { return "script ran: window.pwned=" + window.pwned; }
	if (document.title === "pwned") { return "an event handler set the title"; }
	const n = document.querySelectorAll('img[src="x"], script:not([src]), [onerror], [onload]').length;
	return n ? n + " injected element(s) in the page" : "ok";
})()`

// TestConsoleDrawsHostileNamesAsText: every value a less-trusted party
// sets (a service's, plan's, account's and application's names and
// descriptions through the 3scale API, a policy's configuration, an
// agent's label and check output through the agent protocol) and every
// value a link can carry (a filter, an instance id, a next page) holds a
// script payload; on every console page, and after the live map fetches
// itself again, the payload shows as text and no script runs.
func TestConsoleDrawsHostileNamesAsText(t *testing.T) {
	co := testenv.StartCoordinator(t)
	form := url.Values{"name": {xssPayload}, "system_name": {"xss"}, "description": {xssPayload}}
	svc := co.Create(t, "/admin/api/services.json", form.Encode())
	plan := co.Create(t, "/admin/api/services/"+svc+"/application_plans.json",
		url.Values{"name": {xssPayload}, "system_name": {"basic"}}.Encode())
	acct := co.Create(t, "/admin/api/signup.json", url.Values{"org_name": {xssPayload}, "username": {"eve"},
		"email": {"eve@evil.example"}, "password": {"secret123"}}.Encode())
	app := co.Create(t, "/admin/api/accounts/"+acct+"/applications.json",
		url.Values{"plan_id": {plan}, "name": {xssPayload}, "description": {xssPayload}}.Encode())
	chain, err := json.Marshal(map[string]any{"policies_config": []map[string]any{
		{"name": "cors", "version": "builtin", "configuration": map[string]any{"allow_origin": xssPayload}, "enabled": true},
		{"name": "apicast", "version": "builtin", "configuration": map[string]any{}, "enabled": true},
	}})
	require.NoError(t, err)
	send(t, co, "PUT", "/admin/api/services/"+svc+"/proxy/policies.json", "application/json", string(chain))

	// The agent's check prints the payload: its output goes to home in
	// every heartbeat.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "payload"), []byte(xssPayload), 0o600))
	check := filepath.Join(dir, "check.sh")
	require.NoError(t, os.WriteFile(check, []byte("#!/bin/sh\ncat "+filepath.Join(dir, "payload")+"\nexit 1\n"), 0o700))
	agent := func(port int) string {
		a := testenv.StartAgent(t, co, "--service", "xss", "--port", fmt.Sprint(port), "--label", "xss="+xssPayload,
			"--check-exec", check, "--check-interval", "200ms", "--heartbeat", "300ms", "--", "sleep", "120")
		var id string
		require.Eventually(t, func() bool {
			id = a.ID()
			in, ok := testenv.FindInstance(co.Map(t), id)
			return ok && strings.Contains(in.Output, xssPayload)
		}, 15*time.Second, 50*time.Millisecond, "the agent reports the payload as its check output")
		return id
	}
	id := agent(3000)

	b := openTab(t)
	b.logIn(t, co)
	stored := []string{
		"/ui/", "/ui/instances/" + id, "/ui/services", "/ui/services/" + svc,
		"/ui/traffic", "/ui/traffic?service=" + svc, "/ui/traffic?service=" + svc + "&app=" + app,
	}
	for _, path := range stored {
		b.do(t, path, chromedp.Navigate(co.URL+path), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		require.Equal(t, "ok", eval[string](t, b, inertJS), "GET %s", path)
		text := eval[string](t, b, `document.querySelector('main').innerText`)
		require.True(t, strings.Contains(text, xssPayload), "GET %s shows the payload as text:\n%s", path, text)
	}
	p := url.QueryEscape(xssPayload)
	for _, path := range []string{
		"/ui/?label=" + p, "/ui/?service=" + p + "&plan=" + p + "&status=" + p,
		"/ui/instances/" + url.PathEscape(xssPayload), "/ui/services/" + url.PathEscape(xssPayload),
		"/ui/traffic?service=" + p, "/ui/traffic?service=" + svc + "&app=" + p,
	} {
		b.do(t, path, chromedp.Navigate(co.URL+path), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		require.Equal(t, "ok", eval[string](t, b, inertJS), "GET %s", path)
	}
	// The login form carries next in a hidden field: log out, and come
	// back through a link whose next holds the payload.
	b.do(t, "log out", chromedp.Navigate(co.URL+"/ui/"), chromedp.Click(chromedp.CSS(`form.logout button`)),
		chromedp.WaitVisible(chromedp.CSS(`#token`)))
	b.do(t, "login with a hostile next", chromedp.Navigate(co.URL+"/ui/login?next="+url.QueryEscape("/ui/"+xssPayload)),
		chromedp.WaitVisible(chromedp.CSS(`#token`)))
	require.Equal(t, "ok", eval[string](t, b, inertJS), "the login form")

	// A new instance makes the live map fetch itself again and swap its
	// rows in: the swap must not turn the payload into markup either.
	b.logIn(t, co)
	eval[bool](t, b, `window.portolanNoReload = true`)
	agent(3001)
	b.do(t, "the live map shows the second instance",
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('tr[data-id]').length === 2`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	require.True(t, eval[bool](t, b, `window.portolanNoReload === true`), "the map was patched in place")
	require.Equal(t, "ok", eval[string](t, b, inertJS), "the live map after its refetch")
}
