package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// hookReceiver is a webhook endpoint that answers fail() of each try and
// keeps the events it accepted (2xx) and how many tries it saw.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	fail     func(try int) int // the status of the try-th request (1-based); 0: 200
	tries    int
	accepted []hookEvent
	types    []string // Content-Type of each accepted request
}

// hookEvent is porta's webhook event document.
type hookEvent struct {
	XMLName xml.Name `xml:"event"`
	Action  string   `xml:"action"`
	Type    string   `xml:"type"`
	Object  struct {
		Account *struct {
			ID      int64  `xml:"id"`
			OrgName string `xml:"org_name"`
		} `xml:"account"`
		User *struct {
			ID       int64  `xml:"id"`
			Username string `xml:"username"`
		} `xml:"user"`
		Application *struct {
			ID    int64  `xml:"id"`
			State string `xml:"state"`
		} `xml:"application"`
	} `xml:"object"`
}

func startHookReceiver(t *testing.T, fail func(try int) int) *hookReceiver {
	t.Helper()
	r := &hookReceiver{fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries++
		if r.fail != nil {
			if code := r.fail(r.tries); code != 0 {
				w.WriteHeader(code)
				return
			}
		}
		var ev hookEvent
		if err := xml.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body is not an event document: %v: %s", err, body)
		}
		r.accepted = append(r.accepted, ev)
		r.types = append(r.types, req.Header.Get("Content-Type"))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) events() []hookEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookEvent(nil), r.accepted...)
}

func (r *hookReceiver) triesSeen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries
}

// waitEvents waits until the receiver accepted n events, then a little
// longer to catch any extra one.
func (r *hookReceiver) waitEvents(t *testing.T, n int) []hookEvent {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.events()) >= n }, 15*time.Second, 10*time.Millisecond,
		"the receiver expected %d events", n)
	time.Sleep(300 * time.Millisecond)
	got := r.events()
	require.Len(t, got, n, "exactly one event per change: got %+v", got)
	return got
}

// every webhook switch of 3scale's WebHooks Update.
var webhookSwitches = []string{"account_created_on", "account_updated_on", "account_deleted_on",
	"user_created_on", "user_updated_on", "user_deleted_on", "application_created_on", "application_updated_on",
	"application_deleted_on", "account_plan_changed_on", "application_plan_changed_on",
	"application_user_key_updated_on", "application_key_created_on", "application_key_deleted_on",
	"application_suspended_on", "application_key_updated_on"}

func enableWebhooks(t *testing.T, co *testenv.Coordinator, target string, providerActions bool) {
	t.Helper()
	form := url.Values{"url": {target}, "active": {"true"}, "provider_actions": {boolString(providerActions)}}
	for _, s := range webhookSwitches {
		form.Set(s, "true")
	}
	var out struct {
		WebHook map[string]any `json:"webhook"`
	}
	decodeCall(t, co, http.MethodPut, "/admin/api/webhooks.json", form, http.StatusOK, &out)
	require.Equal(t, target, out.WebHook["url"])
	require.Equal(t, true, out.WebHook["active"])
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

type actionOf struct{ typ, action string }

func actions(evs []hookEvent) []actionOf {
	out := make([]actionOf, len(evs))
	for i, e := range evs {
		out[i] = actionOf{e.Type, e.Action}
	}
	return out
}

func TestWebhooksDeliverOneEventPerChangeAsPortaXML(t *testing.T) {
	co := testenv.StartCoordinator(t)
	recv := startHookReceiver(t, nil)

	// Off by default, and provider actions (every API call) fire nothing
	// until provider_actions is on.
	co.Create(t, "/admin/api/signup.json", "org_name=Before&username=before")
	enableWebhooks(t, co, recv.URL, false)
	co.Create(t, "/admin/api/signup.json", "org_name=Quiet&username=quiet")

	// An invalid URL is refused while active.
	status, body := formCall(t, co, http.MethodPut, "/admin/api/webhooks.json", url.Values{"url": {"not a url"}, "active": {"true"}})
	assert.Equal(t, []string{"is invalid"}, fieldErrors(t, status, body)["url"])

	enableWebhooks(t, co, recv.URL, true)
	acc := co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=alice")
	code, body := formCall(t, co, http.MethodPut, "/admin/api/accounts/"+acc+".json", url.Values{"org_name": {"Acme Corp"}})
	require.Equal(t, http.StatusOK, code, "%s", body)
	svc := co.Create(t, "/admin/api/services.json", "name=News")
	plan := co.Create(t, "/admin/api/services/"+svc+"/application_plans.json", "name=Basic")
	app := co.Create(t, "/admin/api/accounts/"+acc+"/applications.json", "plan_id="+plan+"&name=Reader")
	code, body = formCall(t, co, http.MethodPut, "/admin/api/accounts/"+acc+"/applications/"+app+"/suspend.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)

	got := recv.waitEvents(t, 5)
	assert.Equal(t, []actionOf{{"account", "created"}, {"user", "created"}, {"account", "updated"},
		{"application", "created"}, {"application", "suspended"}}, actions(got))
	require.NotNil(t, got[0].Object.Account)
	assert.Equal(t, "Acme", got[0].Object.Account.OrgName, "the object as it was at the change")
	assert.Equal(t, acc, itoa(got[0].Object.Account.ID))
	require.NotNil(t, got[1].Object.User)
	assert.Equal(t, "alice", got[1].Object.User.Username)
	assert.Equal(t, "Acme Corp", got[2].Object.Account.OrgName)
	require.NotNil(t, got[4].Object.Application)
	assert.Equal(t, app, itoa(got[4].Object.Application.ID))
	assert.Equal(t, "suspended", got[4].Object.Application.State)
	for _, ct := range recv.types {
		assert.Equal(t, "text/xml", ct)
	}

	// Deleting the account deletes its user and application: one event each.
	code, body = formCall(t, co, http.MethodDelete, "/admin/api/accounts/"+acc+".json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	got = recv.waitEvents(t, 8)
	assert.ElementsMatch(t, []actionOf{{"account", "deleted"}, {"user", "deleted"}, {"application", "deleted"}}, actions(got[5:]))
}

func TestWebhooksRetryWithBackoffUntilTheReceiverAnswers2xx(t *testing.T) {
	co := testenv.StartCoordinator(t, "--webhook-attempts", "10", "--webhook-backoff-min", "20ms", "--webhook-backoff-max", "100ms")
	recv := startHookReceiver(t, func(try int) int {
		if try <= 3 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	enableWebhooks(t, co, recv.URL, true)
	co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=alice")
	co.Create(t, "/admin/api/signup.json", "org_name=Beta&username=bob")

	got := recv.waitEvents(t, 4)
	assert.Equal(t, []actionOf{{"account", "created"}, {"user", "created"}, {"account", "created"}, {"user", "created"}}, actions(got))
	assert.Equal(t, 7, recv.triesSeen(), "three refusals, then each event once")
	assert.Equal(t, "Beta", got[2].Object.Account.OrgName, "delivered in commit order")
	var failures map[string][]any
	decodeCall(t, co, http.MethodGet, "/admin/api/webhooks/failures.json", nil, http.StatusOK, &failures)
	assert.Empty(t, failures["webhooks-failures"], "nothing failed for good")
}

func TestWebhookFailuresListedAndDeletedAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t, "--webhook-attempts", "2", "--webhook-backoff-min", "10ms", "--webhook-backoff-max", "20ms")
	recv := startHookReceiver(t, func(int) int { return http.StatusInternalServerError })
	enableWebhooks(t, co, recv.URL, true)
	start := time.Now().UTC().Add(-time.Second)
	co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=alice")

	type failure struct {
		ID, Time, Error, URL, Event string
	}
	var list struct {
		Failures []struct {
			F failure `json:"webhooks-failure"`
		} `json:"webhooks-failures"`
	}
	require.Eventually(t, func() bool {
		decodeCall(t, co, http.MethodGet, "/admin/api/webhooks/failures.json", nil, http.StatusOK, &list)
		return len(list.Failures) == 2
	}, 10*time.Second, 20*time.Millisecond, "both events (account and user created) fail after 2 tries")
	assert.Equal(t, 4, recv.triesSeen())
	f := list.Failures[0].F
	assert.Len(t, f.ID, 36, "a uuid")
	assert.Contains(t, f.Error, "500")
	assert.Equal(t, recv.URL, f.URL)
	var ev hookEvent
	require.NoError(t, xml.Unmarshal([]byte(f.Event), &ev), f.Event)
	assert.Equal(t, actionOf{"account", "created"}, actionOf{ev.Type, ev.Action})
	ft, err := time.Parse(time.RFC3339, f.Time)
	require.NoError(t, err)

	// XML embeds each event as XML, not escaped text.
	var x struct {
		Failures []struct {
			ID    string    `xml:"id"`
			Error string    `xml:"error"`
			Event hookEvent `xml:"event"`
		} `xml:"webhooks-failure"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/webhooks/failures.xml", nil, http.StatusOK, &x)
	require.Len(t, x.Failures, 2)
	assert.Equal(t, f.ID, x.Failures[0].ID)
	assert.Equal(t, "created", x.Failures[0].Event.Action)
	assert.Equal(t, "user", x.Failures[1].Event.Type)

	// time: only the failures at or before it go.
	code, body := formCall(t, co, http.MethodDelete, "/admin/api/webhooks/failures.json", url.Values{"time": {start.Format(time.RFC3339)}})
	require.Equal(t, http.StatusOK, code, "%s", body)
	decodeCall(t, co, http.MethodGet, "/admin/api/webhooks/failures.json", nil, http.StatusOK, &list)
	assert.Len(t, list.Failures, 2, "none is older than %s (first at %s)", start, ft)
	code, body = formCall(t, co, http.MethodDelete, "/admin/api/webhooks/failures.json", url.Values{"time": {"yesterday-ish"}})
	assert.Equal(t, http.StatusBadRequest, code, "%s", body)
	code, body = formCall(t, co, http.MethodDelete, "/admin/api/webhooks/failures.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var raw map[string]json.RawMessage
	decodeCall(t, co, http.MethodGet, "/admin/api/webhooks/failures.json", nil, http.StatusOK, &raw)
	assert.JSONEq(t, `[]`, string(raw["webhooks-failures"]))
}

// A coordinator killed (SIGKILL) after committing changes and before
// delivering their events delivers them when it starts again: exactly one
// event per change.
func TestWebhookOutboxSurvivesKill9(t *testing.T) {
	co := testenv.StartCoordinator(t, "--webhook-attempts", "1000", "--webhook-backoff-min", "20ms", "--webhook-backoff-max", "50ms")
	var mu sync.Mutex
	down := true
	recv := startHookReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	enableWebhooks(t, co, recv.URL, true)
	acc := co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=alice")
	for _, name := range []string{"Acme 2", "Acme 3"} {
		code, body := formCall(t, co, http.MethodPut, "/admin/api/accounts/"+acc+".json", url.Values{"org_name": {name}})
		require.Equal(t, http.StatusOK, code, "%s", body)
	}
	require.Eventually(t, func() bool { return recv.triesSeen() > 0 }, 5*time.Second, 10*time.Millisecond)
	co.Kill()
	require.Empty(t, recv.events(), "nothing delivered before the kill")

	mu.Lock()
	down = false
	mu.Unlock()
	co.Start()
	got := recv.waitEvents(t, 4)
	assert.Equal(t, []actionOf{{"account", "created"}, {"user", "created"}, {"account", "updated"}, {"account", "updated"}}, actions(got))
	assert.Equal(t, "Acme 3", got[3].Object.Account.OrgName)
}
