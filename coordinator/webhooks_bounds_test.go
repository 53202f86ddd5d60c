package coordinator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/threescale"
)

// heldReceiver takes webhook events once released, answering status (200
// when 0), and keeps the org names of those it took, in arrival order.
type heldReceiver struct {
	*httptest.Server
	release chan struct{}
	status  atomic.Int32
	mu      sync.Mutex
	orgs    []string
}

var orgName = regexp.MustCompile(`<org_name>([^<]*)</org_name>`)

func startHeldReceiver(t *testing.T) *heldReceiver {
	r := &heldReceiver{release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		select {
		case <-r.release:
		case <-req.Context().Done():
			return
		}
		if code := r.status.Load(); code != 0 {
			w.WriteHeader(int(code))
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if m := orgName.FindSubmatch(body); m != nil {
			r.orgs = append(r.orgs, string(m[1]))
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *heldReceiver) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.orgs...)
}

// boundedHome runs a coordinator in process whose outbox holds 3 events and
// failures keep 4, delivering each event in one try.
func boundedHome(t *testing.T) (*coordinator.Coordinator, string) {
	co, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		Caps:     threescale.Caps{WebhookEvents: 3, WebhookFailures: 4},
		Webhooks: coordinator.WebhookConfig{Attempts: 1, Timeout: 30 * time.Second}, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return co, "http://" + co.Addr()
}

func adminCall(t *testing.T, method, target string, form url.Values) string {
	t.Helper()
	form.Set("access_token", usageAdminToken)
	var body io.Reader
	if method == http.MethodGet {
		target += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, target, b)
	return string(b)
}

func signup(t *testing.T, base, org string) {
	t.Helper()
	adminCall(t, http.MethodPost, base+"/admin/api/signup.json", url.Values{"org_name": {org}, "username": {strings.ToLower(org)}})
}

type failureListed struct{ Error, Event string }

func listFailures(t *testing.T, base string) []failureListed {
	t.Helper()
	var out struct {
		Failures []struct {
			Failure failureListed `json:"webhooks-failure"`
		} `json:"webhooks-failures"`
	}
	require.NoError(t, json.Unmarshal([]byte(adminCall(t, http.MethodGet, base+"/admin/api/webhooks/failures.json", url.Values{})), &out))
	fs := make([]failureListed, len(out.Failures))
	for i, f := range out.Failures {
		fs[i] = f.Failure
	}
	return fs
}

func metricValue(t *testing.T, base, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (.*)$`).FindStringSubmatch(string(getJSONRaw(t, base+"/metrics")))
	require.NotNil(t, m, "%s is not on /metrics", name)
	return m[1]
}

// With the receiver not taking events, the outbox stops at
// --max-webhook-events: the events past it are listed at once among the
// failures, which keep the newest --max-webhook-failures, the rest counted;
// the events queued still reach the receiver in commit order.
func TestWebhookOutboxAndFailuresStayWithinTheirBounds(t *testing.T) {
	recv := startHeldReceiver(t)
	co, base := boundedHome(t)
	adminCall(t, http.MethodPut, base+"/admin/api/webhooks.json", url.Values{"url": {recv.URL}, "active": {"true"},
		"provider_actions": {"true"}, "account_created_on": {"true"}})

	orgs := []string{"A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"}
	for _, org := range orgs {
		signup(t, base, org)
	}
	assert.Equal(t, 3, co.Store().Snapshot().WebHookEvents.Len(), "the outbox holds --max-webhook-events")

	fs := listFailures(t, base)
	require.Len(t, fs, 4, "failures keep --max-webhook-failures")
	for i, f := range fs {
		assert.Contains(t, f.Error, "outbox full: the receiver has not taken events for")
		assert.Contains(t, f.Event, "<org_name>"+orgs[4+i]+"</org_name>", "the newest failures are kept, oldest first")
	}
	assert.Equal(t, "5", metricValue(t, base, "portolan_webhook_events_refused_total"))
	assert.Equal(t, "1", metricValue(t, base, "portolan_webhook_failures_dropped_total"), "A4's failure gave way to A8's")
	assert.Equal(t, "3", metricValue(t, base, "portolan_webhook_outbox_events"))
	assert.Equal(t, "4", metricValue(t, base, "portolan_webhook_failures"))

	close(recv.release)
	require.Eventually(t, func() bool { return co.Store().Snapshot().WebHookEvents.Len() == 0 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, orgs[:3], recv.taken(), "the queued events arrive in commit order")

	// Failed deliveries give way the same way.
	recv.status.Store(http.StatusServiceUnavailable)
	signup(t, base, "B1")
	signup(t, base, "B2")
	require.Eventually(t, func() bool { return co.Store().Snapshot().WebHookEvents.Len() == 0 }, 10*time.Second, 10*time.Millisecond)
	fs = listFailures(t, base)
	require.Len(t, fs, 4)
	assert.Contains(t, fs[2].Error, "answered 503")
	assert.Contains(t, fs[3].Event, "<org_name>B2</org_name>")
	assert.Contains(t, fs[0].Event, "<org_name>A7</org_name>")
	assert.Equal(t, "3", metricValue(t, base, "portolan_webhook_failures_dropped_total"))
}
