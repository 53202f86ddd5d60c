package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// homeAdmin sends a 3scale API request with the coordinator's access token
// and decodes the JSON answer into out (when not nil).
func homeAdmin(t *testing.T, co *testenv.Coordinator, method, path, form string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(form))
	require.NoError(t, err)
	ct := "application/x-www-form-urlencoded"
	if strings.HasPrefix(form, "{") {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

type homeApp struct {
	ID      int64
	UserKey string `json:"user_key"`
}

// homeService is a user_key service made through the 3scale API: GET /
// counts hits, one plan, one account, its chain, placed for agents of
// selector.
type homeService struct {
	co        *testenv.Coordinator
	id, hits  int64
	plan      int64
	account   int64
	selector  string
	appSerial int
}

func newHomeService(t *testing.T, co *testenv.Coordinator, name, chain string) *homeService {
	t.Helper()
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	homeAdmin(t, co, "POST", "/admin/api/services.json", "name="+name+"&system_name="+name+"&backend_version=1", &svc)
	s := &homeService{co: co, id: svc.Service.ID, selector: name + "api"}
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	homeAdmin(t, co, "GET", fmt.Sprintf("/admin/api/services/%d/metrics.json", s.id), "", &metrics)
	require.NotEmpty(t, metrics.Metrics)
	s.hits = metrics.Metrics[0].Metric.ID
	homeAdmin(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules.json", s.id),
		fmt.Sprintf("http_method=GET&pattern=/&delta=1&metric_id=%d", s.hits), nil)
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	homeAdmin(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", s.id), "name=Open", &p)
	s.plan = p.Plan.ID
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	homeAdmin(t, co, "POST", "/admin/api/signup.json",
		fmt.Sprintf("org_name=Acme-%s&username=%s-dev&email=%s@example.com&password=s3cret-pass&application_plan_id=%d", name, name, name, s.plan), &signup)
	s.account = signup.Account.ID
	if chain != "" {
		homeAdmin(t, co, "PUT", fmt.Sprintf("/admin/api/services/%d/proxy/policies.json", s.id), "policies_config="+url.QueryEscape(chain), nil)
	}
	homeAdmin(t, co, "POST", "/admin/portolan/placements",
		fmt.Sprintf(`{"name":"%s-pool","selector":{"service":%q},"service_id":%d}`, name, s.selector, s.id), nil)
	return s
}

func (s *homeService) app(t *testing.T) homeApp {
	t.Helper()
	s.appSerial++
	var a struct {
		App homeApp `json:"application"`
	}
	homeAdmin(t, s.co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", s.account),
		fmt.Sprintf("name=app%d&plan_id=%d", s.appSerial, s.plan), &a)
	return a.App
}

func (s *homeService) setState(t *testing.T, a homeApp, state string) {
	t.Helper()
	homeAdmin(t, s.co, "PUT", fmt.Sprintf("/admin/api/accounts/%d/applications/%d/%s.json", s.account, a.ID, state), "", nil)
}

// startGatewayAgent starts an agent fronting an upstream that answers its
// name, with a gateway, a short heartbeat and TTL; it returns the gateway's
// base URL.
func startGatewayAgent(t *testing.T, co *testenv.Coordinator, selector, name string) string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, name) }))
	t.Cleanup(up.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(up.URL, "http://"))
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", selector, "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", up.URL,
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "300")
	return "http://" + gw
}

func gwGet(u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func gwStatus(u string) int { s, _ := gwGet(u); return s }

// The caching policy's modes through real agents while their home is
// stopped and after it comes back. README: "`caching` | what the gateway
// does while home is unreachable: `resilient` (the default: serve from the
// snapshot), `strict` (only applications authorized while home was
// reachable), `allow` (serve even when usage cannot be kept), `none`
// (503)". APIcast's caching policy README: strict "caches only authorized
// calls. Denied and failed calls invalidate the cache entry"; resilient
// "Authorize according to last request when backend is down"; allow "when
// backend is down, allow everything unless seen before and denied"; none
// "disables caching". An application suspended before home went away is
// denied in every mode (seen and denied); credentials the snapshot does not
// know stay refused but under none, which refuses all; once home is back
// every mode serves as with home reachable.
func TestCachingModesAnswerAsDocumentedWhileHomeIsDownAndAfterItReturns(t *testing.T) {
	co := testenv.StartCoordinator(t)
	type modeCase struct {
		mode                    string
		svc                     *homeService
		gw                      string
		known, fresh, suspended homeApp
	}
	var cases []*modeCase
	for _, mode := range []string{"strict", "resilient", "allow", "none"} {
		chain := `[{"name":"caching","version":"builtin","configuration":{"caching_type":"` + mode + `"},"enabled":true},` +
			`{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
		s := newHomeService(t, co, "c"+mode, chain)
		mc := &modeCase{mode: mode, svc: s}
		mc.known, mc.fresh, mc.suspended = s.app(t), s.app(t), s.app(t)
		cases = append(cases, mc)
	}
	for _, mc := range cases {
		mc.gw = startGatewayAgent(t, co, mc.svc.selector, mc.mode)
	}
	at := func(mc *modeCase, a homeApp) string { return mc.gw + "/articles?user_key=" + a.UserKey }
	for _, mc := range cases {
		require.Eventually(t, func() bool { return gwStatus(at(mc, mc.known)) == http.StatusOK }, 20*time.Second, 50*time.Millisecond,
			"%s: served while home is reachable", mc.mode)
		require.Equal(t, http.StatusOK, gwStatus(at(mc, mc.suspended)), "%s: the app to suspend is served first", mc.mode)
		mc.svc.setState(t, mc.suspended, "suspend")
	}
	for _, mc := range cases {
		require.Eventually(t, func() bool { return gwStatus(at(mc, mc.suspended)) == http.StatusForbidden }, 10*time.Second, 20*time.Millisecond,
			"%s: the suspension reached the gateway", mc.mode)
	}

	co.Stop()
	// Away once the TTL (1 s) has passed: none refuses then.
	none := cases[3]
	require.Eventually(t, func() bool { return gwStatus(at(none, none.known)) == http.StatusServiceUnavailable }, 10*time.Second, 50*time.Millisecond,
		"none: refused once home is away")
	// Each gateway's own view turns away about together (same TTL); give
	// the strict one its own wait.
	strict := cases[0]
	require.Eventually(t, func() bool { return gwStatus(at(strict, strict.fresh)) == http.StatusServiceUnavailable }, 10*time.Second, 50*time.Millisecond,
		"strict: an application never authorized here is refused once home is away")

	want := map[string][4]int{ // known, fresh, suspended, unknown credentials
		"strict":    {200, 503, 403, 403},
		"resilient": {200, 200, 403, 403},
		"allow":     {200, 200, 403, 403},
		"none":      {503, 503, 503, 503},
	}
	for _, mc := range cases {
		got := [4]int{gwStatus(at(mc, mc.known)), gwStatus(at(mc, mc.fresh)), gwStatus(at(mc, mc.suspended)),
			gwStatus(mc.gw + "/articles?user_key=nobody-knows-this-key")}
		assert.Equal(t, want[mc.mode], got, "%s while home is away: known, fresh, suspended, unknown", mc.mode)
	}

	co.Start()
	for _, mc := range cases {
		require.Eventually(t, func() bool { return gwStatus(at(mc, mc.fresh)) == http.StatusOK }, 20*time.Second, 50*time.Millisecond,
			"%s: served again once home is back", mc.mode)
		got := [4]int{gwStatus(at(mc, mc.known)), gwStatus(at(mc, mc.fresh)), gwStatus(at(mc, mc.suspended)),
			gwStatus(mc.gw + "/articles?user_key=nobody-knows-this-key")}
		assert.Equal(t, [4]int{200, 200, 403, 403}, got, "%s once home is back: known, fresh, suspended, unknown", mc.mode)
		mc.svc.setState(t, mc.suspended, "resume")
	}
	for _, mc := range cases {
		require.Eventually(t, func() bool { return gwStatus(at(mc, mc.suspended)) == http.StatusOK }, 10*time.Second, 20*time.Millisecond,
			"%s: a resumed application is served once home is back", mc.mode)
	}
}

// A global rate_limit window and a plan's limit across two agents whose home
// is stopped and started again. README ("Usage and limits"): "A partitioned
// agent enforces home's last totals plus its own usage, so it can overshoot
// by what the others admit while it is cut off; its usage still counts at
// home once it is back"; "Global rate limits. The rate_limit policy's fixed
// windows of global scope ... go the same way ... (a restarted home starts
// over from the agents' next reports)".
func TestGlobalAndPlanLimitsAcrossTwoAgentsWhileHomeIsDownAndAfterItReturns(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const window = 6
	chain := fmt.Sprintf(`[
		{"name":"rate_limit","version":"builtin","enabled":true,"configuration":{"fixed_window_limiters":[
			{"key":{"name":"limited","scope":"global"},"count":%d,"window":3600,
			 "condition":{"operations":[{"left":"{{ uri }}","left_type":"liquid","op":"==","right":"/limited"}]}}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, window)
	s := newHomeService(t, co, "glimit", chain)
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	homeAdmin(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", s.id), "name=Metered", &p)
	const planLimit = 10
	homeAdmin(t, co, "POST", fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", p.Plan.ID, s.hits),
		fmt.Sprintf("period=hour&value=%d", planLimit), nil)
	open := s.app(t)
	s.plan = p.Plan.ID
	metered := s.app(t)

	gwA, gwB := startGatewayAgent(t, co, s.selector, "a"), startGatewayAgent(t, co, s.selector, "b")
	for _, gw := range []string{gwA, gwB} {
		require.Eventually(t, func() bool { return gwStatus(gw+"/articles?user_key="+open.UserKey) == http.StatusOK },
			20*time.Second, 50*time.Millisecond, "the gateway serves the service")
	}
	if now := time.Now().Unix(); now%3600 > 3600-60 {
		time.Sleep(time.Duration(3600-now%3600+1) * time.Second)
	}
	const settle = 3 * time.Second
	burst := func(u string, n int) []int {
		var got []int
		for range n {
			got = append(got, gwStatus(u))
		}
		return got
	}
	limited := func(gw string) string { return gw + "/limited?user_key=" + open.UserKey }
	meteredURL := func(gw string) string { return gw + "/articles?user_key=" + metered.UserKey }

	assert.Equal(t, []int{200, 200}, burst(limited(gwA), 2))
	assert.Equal(t, []int{200, 200, 200}, burst(meteredURL(gwA), 3))
	time.Sleep(settle)
	assert.Equal(t, []int{200, 200}, burst(limited(gwB), 2))
	assert.Equal(t, []int{200, 200, 200}, burst(meteredURL(gwB), 3))
	time.Sleep(settle)

	co.Stop()
	// Partitioned: each enforces home's last totals plus its own.
	assert.Equal(t, []int{200, 200, 429}, burst(limited(gwA), 3), "A: 4 known, 2 left")
	assert.Equal(t, []int{200, 200, 429}, burst(limited(gwB), 3), "B: 4 known, 2 left")
	assert.Equal(t, []int{200, 200, 200, 200, 429}, burst(meteredURL(gwA), 5), "A: 6 known, 4 left")
	assert.Equal(t, []int{200, 200, 200, 200, 429}, burst(meteredURL(gwB), 5), "B: 6 known, 4 left")

	co.Start()
	// Home's counters hold the 6 before and the 8 admitted while it was away,
	// each counted once, once the agents' spools have gone home.
	authorized := func() string {
		resp, err := http.Get(fmt.Sprintf("%s/transactions/authorize.xml?service_token=%s&service_id=%d&user_key=%s", co.URL, co.Token, s.id, metered.UserKey))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	require.Eventually(t, func() bool { return strings.Contains(authorized(), "<current_value>14</current_value>") }, 20*time.Second, 100*time.Millisecond,
		"home's hour counter holds 6 + 8: %s", authorized())
	time.Sleep(settle) // the agents take home's totals in their next replies
	assert.Contains(t, authorized(), "<current_value>14</current_value>", "counted once")
	assert.Equal(t, []int{429}, burst(meteredURL(gwA), 1), "A after home returns")
	assert.Equal(t, []int{429}, burst(meteredURL(gwB), 1), "B after home returns")
	// "a restarted home starts over from the agents' next reports": the
	// window now holds the 4 the agents admitted while home was away.
	assert.Equal(t, []int{200, 200, 429}, burst(limited(gwA), 3), "A: the restarted home counts 4 of the window")
}
