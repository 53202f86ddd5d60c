package coordinator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A write the Consul store runs again after losing a check-and-set to the
// other coordinator (composition.Store: fn may run more than once) must
// count what it did once: portolan_webhook_events_refused_total, summed
// over the coordinators, is the number of events recorded as failures for
// a full outbox (README: "an event past it is not queued but listed at
// once among the failures ... counted on /metrics"), however many runs
// the writes took.
func TestWebhookRefusalsCountedOnceAcrossRetriedWrites(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError) // never taken: the outbox stays full
	}))
	t.Cleanup(recv.Close)
	consul := testenv.StartConsul(t)
	args := []string{"--consul", consul.URL, "--consul-prefix", "retry-counts/", "--max-webhook-events", "1",
		"--webhook-attempts", "1000", "--webhook-backoff-min", "1h", "--webhook-backoff-max", "1h"}
	a := testenv.StartCoordinator(t, args...)
	b := testenv.StartCoordinator(t, args...)
	form := url.Values{"url": {recv.URL}, "active": {"true"}, "provider_actions": {"true"}, "account_created_on": {"true"}}
	got := send(t, a, http.MethodPut, "/admin/api/webhooks.json", formType, form.Encode())
	require.Equal(t, http.StatusOK, got.status, got.body)
	a.Create(t, "/admin/api/signup.json", "org_name=First&username=first") // fills the outbox
	rev := a.Revision(t)
	require.Eventually(t, func() bool { return b.Revision(t) >= rev }, 10*time.Second, 10*time.Millisecond)

	const each = 30
	var wg sync.WaitGroup
	for ci, co := range []*testenv.Coordinator{a, b} {
		for i := range each {
			wg.Go(func() {
				got := send(t, co, http.MethodPost, "/admin/api/signup.json", formType,
					fmt.Sprintf("org_name=Org-%d-%d&username=u%d_%d", ci, i, ci, i))
				assert.Equal(t, http.StatusCreated, got.status, got.body)
			})
		}
	}
	wg.Wait()

	rev = max(a.Revision(t), b.Revision(t))
	for _, co := range []*testenv.Coordinator{a, b} {
		require.Eventually(t, func() bool { return co.Revision(t) >= rev }, 10*time.Second, 10*time.Millisecond)
	}
	failures := send(t, a, http.MethodGet, "/admin/api/webhooks/failures.json", "", "")
	require.Equal(t, http.StatusOK, failures.status, failures.body)
	listed := strings.Count(failures.body, "outbox full")
	require.Equal(t, 2*each, listed, "each refused event listed once")
	counted := refusedCount(t, a) + refusedCount(t, b)
	assert.Equal(t, listed, counted, "refused events counted on /metrics against those listed")
}

var refusedLine = regexp.MustCompile(`(?m)^portolan_webhook_events_refused_total (\d+)`)

func refusedCount(t *testing.T, co *testenv.Coordinator) int {
	t.Helper()
	got := send(t, co, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	m := refusedLine.FindStringSubmatch(got.body)
	require.NotNil(t, m, "no refused counter on /metrics")
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}
