package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// attackerName resolves, in the test's Chromium, to 127.0.0.1: the state
// of a DNS-rebinding attack once the attacker's name has been rebound
// (host-resolver-rules stands in for the attacker's DNS server).
const attackerName = "rebind.attacker.test"

// A web page in a browser on the agent's host must neither read the local
// API (it has no credential: DESIGN "The agent's local API serves no
// secrets", and the service map names every instance's address) nor drive
// the management proxy, which adds an admin token to every call. A page
// reaches loopback three ways, each tried here in a real Chromium against
// real agent processes:
//   - a cross-site "simple" request (form POST, fetch no-cors): the Fetch
//     standard (fetch.spec.whatwg.org, "append a request Origin header")
//     sends Origin on every request whose method is not GET or HEAD, and
//     Fetch Metadata (w3c.github.io/webappsec-fetch-metadata) sends
//     Sec-Fetch-Site to a potentially trustworthy URL (loopback is);
//   - a CORS read: the answer must not carry Access-Control-Allow-Origin;
//   - DNS rebinding: a same-origin call, so neither Origin (for a GET) nor
//     Sec-Fetch-Site (the rebound origin is plain http, not trustworthy) is
//     sent, and only the Host header (the attacker's name) tells it apart.
//     The fix others made is the same Host check (skycoin/skycoin#885:
//     "check that the Host header is 127.0.0.1:$port or localhost:$port
//     ... to prevent DNS rebinding attacks"; chef/automate#5647).
//
// curl and the app's own client (no Origin, Host 127.0.0.1:port or
// localhost) are still served.
func TestBrowserPagesCannotReachTheLoopbackListeners(t *testing.T) {
	co := testenv.StartCoordinator(t)
	spec := filepath.Join(testenv.ThreescaleDir(t), "account_management_api.json")
	mgmt := testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--mgmt-listen", mgmt, "--mgmt-spec", spec, "--mgmt-token", co.Token,
		"--heartbeat", "300ms", "--", "sleep", "120")
	a.ID()
	_, apiPort, _ := net.SplitHostPort(a.API)
	_, mgmtPort, _ := net.SplitHostPort(mgmt)

	// The attacker's page, on a port of its own, served as a page of
	// attackerName.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>attacker</title><p>hello</p>")
	}))
	t.Cleanup(page.Close)
	_, pagePort, _ := net.SplitHostPort(strings.TrimPrefix(page.URL, "http://"))

	ctx := testenv.Chromium(t, chromedp.Flag("host-resolver-rules", "MAP "+attackerName+" 127.0.0.1"))
	eval := func(what, expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		require.NoError(t, err, "%s: %s", what, expr)
		return v
	}
	navigate := func(u string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(u)), u)
	}
	// status fetches url with init and returns "status body", or
	// "error: …" when the browser hides the answer from the page.
	status := func(what, url, init string) string {
		return eval(what, fmt.Sprintf(`fetch(%q, %s).then(async r => r.status + " " + await r.text()).catch(e => "error: " + e)`, url, init))
	}

	// What the browser sends, as the guard expects it: a recorder on
	// loopback, called cross-site and then rebound.
	seen := make(chan http.Header, 4)
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rec" { // the navigation, a favicon
			return
		}
		h := r.Header.Clone()
		h.Set("X-Seen-Host", r.Host)
		seen <- h
	}))
	t.Cleanup(recorder.Close)
	_, recPort, _ := net.SplitHostPort(strings.TrimPrefix(recorder.URL, "http://"))

	// 1. Cross-site: the attacker's page calls loopback by address.
	navigate(fmt.Sprintf("http://%s:%s/", attackerName, pagePort))
	eval("recorded POST", fmt.Sprintf(`fetch(%q, {method: "POST", mode: "no-cors", body: "x"}).then(() => "sent")`, recorder.URL+"/rec"))
	h := <-seen
	assert.Equal(t, fmt.Sprintf("http://%s:%s", attackerName, pagePort), h.Get("Origin"), "a cross-site POST carries Origin")
	assert.Equal(t, "cross-site", h.Get("Sec-Fetch-Site"), "loopback is trustworthy: Sec-Fetch-Site is sent")
	form := `{method: "POST", mode: "no-cors", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "name=Evil&system_name=evil_nocors"}`
	eval("no-cors form POST", fmt.Sprintf(`fetch(%q, %s).then(() => "sent").catch(e => "error: " + e)`, "http://"+mgmt+"/admin/api/services.json", form))
	textPlain := `{method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: "name=Evil&system_name=evil_textplain"}`
	eval("no-cors text/plain POST", fmt.Sprintf(`fetch(%q, %s).then(() => "sent").catch(e => "error: " + e)`, "http://"+mgmt+"/admin/api/services.json", textPlain))
	// A real form, submitted into a frame, as a page without script would.
	eval("form submit", fmt.Sprintf(`new Promise(done => {
		const f = document.createElement("iframe"); f.name = "sink"; document.body.appendChild(f);
		const form = document.createElement("form"); form.method = "POST"; form.target = "sink";
		form.action = %q;
		for (const [k, v] of [["name", "Evil"], ["system_name", "evil_form"]]) {
			const i = document.createElement("input"); i.name = k; i.value = v; form.appendChild(i);
		}
		document.body.appendChild(form); f.onload = () => done("loaded"); form.submit();
		setTimeout(() => done("timeout"), 5000);
	})`, "http://"+mgmt+"/admin/api/services.json"))
	for _, path := range []string{"/v1/agent/self", "/v1/agent/map", "/v1/agent/composition", "/metrics"} {
		got := status("CORS read "+path, "http://"+a.API+path, `{}`)
		assert.True(t, strings.HasPrefix(got, "error: "), "a cross-site page read %s: %.200s", path, got)
	}
	got := status("CORS read through the proxy", "http://"+mgmt+"/admin/api/services.json", `{}`)
	assert.True(t, strings.HasPrefix(got, "error: "), "a cross-site page read through the proxy: %.200s", got)

	// 2. DNS rebinding: the page's own name now resolves to 127.0.0.1, on
	// the listener's port; its calls are same-origin.
	navigate(fmt.Sprintf("http://%s:%s/", attackerName, recPort))
	eval("recorded rebound GET", `fetch("/rec").then(() => "sent")`)
	h = <-seen
	assert.Empty(t, h.Get("Origin"), "a same-origin GET carries no Origin")
	assert.Empty(t, h.Get("Sec-Fetch-Site"), "a plain-http name is not trustworthy: no Sec-Fetch-Site")
	assert.Equal(t, fmt.Sprintf("%s:%s", attackerName, recPort), h.Get("X-Seen-Host"), "only Host tells a rebound call")
	navigate(fmt.Sprintf("http://%s:%s/", attackerName, apiPort))
	for _, path := range []string{"/v1/agent/self", "/v1/agent/map", "/v1/agent/composition", "/v1/agent/health"} {
		got := status("rebound read "+path, path, `{}`)
		assert.True(t, strings.HasPrefix(got, "403 "), "a rebound page read %s: %.200s", path, got)
		assert.Contains(t, got, attackerName, "%s: refused for its Host", path)
	}
	navigate(fmt.Sprintf("http://%s:%s/", attackerName, mgmtPort))
	got = status("rebound proxy read", "/admin/api/services.json", `{}`)
	assert.True(t, strings.HasPrefix(got, "403 "), "a rebound page read through the proxy: %.200s", got)
	got = status("rebound proxy write", "/admin/api/services.json",
		`{method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "name=Evil&system_name=evil_rebound"}`)
	assert.True(t, strings.HasPrefix(got, "403 "), "a rebound page wrote through the proxy: %.200s", got)

	// Nothing reached home.
	var list struct {
		Services []struct {
			Service struct{ SystemName string } `json:"service"`
		} `json:"services"`
	}
	adminCall(t, co, http.MethodGet, "/admin/api/services.json", "", &list)
	for _, s := range list.Services {
		assert.False(t, strings.HasPrefix(s.Service.SystemName, "evil"), "a page created the service %q through the proxy", s.Service.SystemName)
	}

	// The app and curl are served, by address and by localhost.
	for _, base := range []string{"http://" + a.API, "http://localhost:" + apiPort} {
		r := get(t, base+"/v1/agent/self")
		assert.Equal(t, http.StatusOK, r.status, "%s: %s", base, r.body)
	}
	for _, base := range []string{"http://" + mgmt, "http://localhost:" + mgmtPort} {
		req, err := http.NewRequest(http.MethodPost, base+"/admin/api/services.json", strings.NewReader("name=Ok&system_name=ok_"+strings.ReplaceAll(strings.TrimPrefix(base, "http://"), ":", "_")))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusCreated, resp.StatusCode, "%s: %s", base, b)
		assert.Empty(t, resp.Header.Values("Access-Control-Allow-Origin"), "%s", base)
	}
}
