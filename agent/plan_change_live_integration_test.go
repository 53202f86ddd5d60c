package agent_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// liveComposition is one service with a GET / rule counting hits, fronted
// by a real agent's gateway, for changing the composition under traffic.
type liveComposition struct {
	co       *testenv.Coordinator
	sid, hit int64
	gw       string // the gateway's base URL
}

// startLive makes the service and starts an agent in front of an app; the
// gateway is ready once it knows the service (a request without
// credentials is refused as such: it counts nothing).
func startLive(t *testing.T, systemName string) *liveComposition {
	t.Helper()
	co := testenv.StartCoordinator(t)
	sid, hits := countedService(t, co, "Live", systemName)
	host, port := gwUpstream(t, "app")
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", systemName, "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
		"--heartbeat", "300ms", "--ttl", "2s", "--", "sleep", "300")
	l := &liveComposition{co: co, sid: sid, hit: hits, gw: "http://" + gw}
	require.Eventually(t, func() bool { return get(t, l.gw+"/").status == http.StatusForbidden }, 15*time.Second, 20*time.Millisecond)
	return l
}

func (l *liveComposition) plan(t *testing.T, name string) int64 {
	t.Helper()
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, l.co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", l.sid), "name="+name, &p)
	return p.Plan.ID
}

// limit creates a limit of the hits metric on plan and returns its id.
func (l *liveComposition) limit(t *testing.T, plan int64, period string, value int) int64 {
	t.Helper()
	var lim struct {
		Limit struct{ ID int64 } `json:"limit"`
	}
	adminCall(t, l.co, "POST", l.limitsPath(plan), fmt.Sprintf("period=%s&value=%d", period, value), &lim)
	return lim.Limit.ID
}

func (l *liveComposition) limitsPath(plan int64) string {
	return fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, l.hit)
}

func (l *liveComposition) limitPath(plan, id int64) string {
	return fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits/%d.json", plan, l.hit, id)
}

type liveApp struct {
	ID      int64
	UserKey string `json:"user_key"`
}

// app creates an application of account on plan (form adds fields).
func (l *liveComposition) app(t *testing.T, account, plan int64, form string) liveApp {
	t.Helper()
	var a struct {
		App liveApp `json:"application"`
	}
	adminCall(t, l.co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", account),
		fmt.Sprintf("name=app%d&plan_id=%d%s", time.Now().UnixNano(), plan, form), &a)
	return a.App
}

// eventually polls the gateway until it answers want, within the time a
// heartbeat-paced agent needs to learn a revision.
// It returns how many answers of 200 came before (each counted a hit).
func (l *liveComposition) eventually(t *testing.T, url string, want reply, msg string) (served int) {
	t.Helper()
	var last reply
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if last = get(t, url); last == want {
			return served
		}
		if last.status == http.StatusOK {
			served++
		}
	}
	t.Fatalf("%s: want %v, last answer %v", msg, want, last)
	return served
}

// A plan change under traffic: the new plan's limits apply, and the counts
// of the current periods carry over, since apisonator keys usage by
// application and metric, never by plan (apisonator stats/keys.rb:
// application_usage_value_key(service_id, app_id, metric_id, period); porta's
// change_plan only updates the application's plan_id in backend). Raising, lowering below the count, disabling (value 0: APIcast
// proxy.lua answers "authorization failed") and deleting a limit, and
// deleting the mapping rule (404 "No Mapping Rule matched"), each reach the
// running gateway.
func TestPlanChangeUnderTrafficKeepsTheCountsOfTheCurrentPeriods(t *testing.T) {
	l := startLive(t, "plansapi")
	small, large := l.plan(t, "Small"), l.plan(t, "Large")
	l.limit(t, small, "eternity", 3)
	largeLimit := l.limit(t, large, "eternity", 6)
	l.limit(t, large, "month", 100)
	acct, _ := signUp(t, l.co, small)
	app := l.app(t, acct, small, "")
	url := l.gw + "/items?user_key=" + app.UserKey

	l.eventually(t, url, reply{200, "app"}, "the application is known")
	for i := 2; i <= 3; i++ {
		require.Equal(t, reply{200, "app"}, get(t, url), "request %d of Small's 3", i)
	}
	require.Equal(t, reply{429, "Usage limit exceeded\n"}, get(t, url), "Small's limit")

	adminCall(t, l.co, "PUT", fmt.Sprintf("/admin/api/accounts/%d/applications/%d/change_plan.json", acct, app.ID),
		fmt.Sprintf("plan_id=%d", large), nil)
	l.eventually(t, url, reply{200, "app"}, "Large's limit applies after change_plan")
	for i := 5; i <= 6; i++ {
		require.Equal(t, reply{200, "app"}, get(t, url), "request %d of Large's 6", i)
	}
	require.Equal(t, reply{429, "Usage limit exceeded\n"}, get(t, url),
		"the three hits counted on Small count against Large's eternity limit")

	// Raised: room again; lowered below the count: refused at once.
	adminCall(t, l.co, "PUT", l.limitPath(large, largeLimit), "value=10", nil)
	l.eventually(t, url, reply{200, "app"}, "a raised limit")
	adminCall(t, l.co, "PUT", l.limitPath(large, largeLimit), "value=2", nil)
	l.eventually(t, url, reply{429, "Usage limit exceeded\n"}, "a limit lowered below the count")
	// Disabled (value 0) is authorization failed, as APIcast answers it.
	adminCall(t, l.co, "PUT", l.limitPath(large, largeLimit), "value=0", nil)
	l.eventually(t, url, reply{403, "Authentication failed\n"}, "a disabled metric")
	adminCall(t, l.co, "DELETE", l.limitPath(large, largeLimit), "", nil)
	l.eventually(t, url, reply{200, "app"}, "a deleted limit limits nothing")

	var rules struct {
		Rules []struct {
			Rule struct{ ID int64 } `json:"mapping_rule"`
		} `json:"mapping_rules"`
	}
	adminCall(t, l.co, "GET", fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules.json", l.sid), "", &rules)
	require.Len(t, rules.Rules, 1)
	adminCall(t, l.co, "DELETE", fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules/%d.json", l.sid, rules.Rules[0].Rule.ID), "", nil)
	l.eventually(t, url, reply{404, "No Mapping Rule matched\n"}, "a deleted mapping rule")
}

// Suspension, deletion and re-creation under traffic, as porta and
// apisonator do them: a suspended application is refused (apisonator
// application_not_active; APIcast "Authentication failed") and a resumed
// one served with its counts kept; a deleted application's key is refused
// at the next revision; an application created with the same user_key is a
// new application (porta makes a new application id) whose counts start
// at zero.
func TestSuspendResumeDeleteAndRecreateUnderTraffic(t *testing.T) {
	l := startLive(t, "stateapi")
	plan := l.plan(t, "Two")
	l.limit(t, plan, "eternity", 1000)
	acct, _ := signUp(t, l.co, plan)
	app := l.app(t, acct, plan, "")
	url := l.gw + "/items?user_key=" + app.UserKey
	l.eventually(t, url, reply{200, "app"}, "the application is known")

	appPath := fmt.Sprintf("/admin/api/accounts/%d/applications/%d", acct, app.ID)
	adminCall(t, l.co, "PUT", appPath+"/suspend.json", "", nil)
	// Served until the suspension arrives: those count; the refusals do not.
	served := 1 + l.eventually(t, url, reply{403, "Authentication failed\n"}, "a suspended application")
	for range 5 {
		require.Equal(t, reply{403, "Authentication failed\n"}, get(t, url))
	}
	adminCall(t, l.co, "PUT", appPath+"/resume.json", "", nil)
	served++ // the answer eventually waits for
	require.Zero(t, l.eventually(t, url, reply{200, "app"}, "a resumed application"))
	remaining := 1000 - served
	for i := range remaining {
		require.Equal(t, reply{200, "app"}, get(t, url), "request %d of the %d the resumed application has left", i+1, remaining)
	}
	assert.Equal(t, reply{429, "Usage limit exceeded\n"}, get(t, url), "the resumed application kept its count")

	adminCall(t, l.co, "DELETE", appPath+".json", "", nil)
	l.eventually(t, url, reply{403, "Authentication failed\n"}, "a deleted application")
	again := l.app(t, acct, plan, "&user_key="+app.UserKey)
	require.NotEqual(t, app.ID, again.ID)
	l.eventually(t, url, reply{200, "app"}, "the new application with the old key")
	for i := range 999 {
		require.Equal(t, reply{200, "app"}, get(t, url), "request %d: the new application's count starts at zero", i+2)
	}
	assert.Equal(t, reply{429, "Usage limit exceeded\n"}, get(t, url))
}

// Deleting the account or the service an agent fronts: porta destroys an
// account's applications with it (Account has_many bought_cinstances,
// dependent: :destroy), and a deleted service's applications go with it
// from backend, so neither key is authorized at the next revision; the
// agent must not keep serving them from the view it had.
func TestDeletedAccountAndServiceAreNotServedFromTheOldView(t *testing.T) {
	l := startLive(t, "goneapi")
	plan := l.plan(t, "Open")
	acct, key := signUp(t, l.co, plan)
	url := l.gw + "/items?user_key=" + key
	l.eventually(t, url, reply{200, "app"}, "the application is known")
	adminCall(t, l.co, "DELETE", fmt.Sprintf("/admin/api/accounts/%d.json", acct), "", nil)
	l.eventually(t, url, reply{403, "Authentication failed\n"}, "a deleted account's application")

	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, l.co, "POST", "/admin/api/signup.json",
		fmt.Sprintf("org_name=Other&username=bob&email=bob@example.com&password=s3cret-pass&application_plan_id=%d", plan), &signup)
	other := l.app(t, signup.Account.ID, plan, "")
	url = l.gw + "/items?user_key=" + other.UserKey
	l.eventually(t, url, reply{200, "app"}, "the other application is known")
	adminCall(t, l.co, "DELETE", fmt.Sprintf("/admin/api/services/%d.json", l.sid), "", nil)
	var last reply
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if last = get(t, url); last.status != http.StatusOK {
			return
		}
	}
	t.Fatalf("the deleted service's application is still served: %v", last)
}
