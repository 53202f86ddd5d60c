package coordinator

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
)

// deliverOnce queues an event for rawURL and delivers it with one try,
// returning the delivery's log and the failure recorded ("" when none).
func deliverOnce(t *testing.T, rawURL string, timeout time.Duration) (logs, failure string) {
	t.Helper()
	store, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	_, err = store.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.WebHookEvent{Type: "application", Action: "created", URL: rawURL, XML: "<event><user_key>k</user_key></event>"})
	})
	require.NoError(t, err)
	var buf bytes.Buffer
	d := &webhookDelivery{store: store, cfg: WebhookConfig{Attempts: 1}.withDefaults(),
		client: newWebhookClient(timeout), log: zerolog.New(&buf)}
	events := store.Snapshot().WebHookEvents.All()
	require.Len(t, events, 1)
	require.True(t, d.deliver(context.Background(), events[0]))
	if f := store.Snapshot().WebHookFailures.All(); len(f) > 0 {
		failure = f[len(f)-1].Error
	}
	return buf.String(), failure
}

// porta's webhook worker posts with RestClient, which follows no redirect
// for a POST: a receiver answering 307 or 308 does not get the event sent
// on (to another host, or from https down to plain http); the try failed.
func TestWebhookDeliveryFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/stolen", status)
		}))
		_, failure := deliverOnce(t, receiver.URL+"/hook", 5*time.Second)
		receiver.Close()
		assert.Contains(t, failure, "answered "+strconv.Itoa(status)+" "+http.StatusText(status), "a %d is a failed try", status)
	}
	assert.Zero(t, elsewhere.Load(), "the event was sent on where the receiver redirected it")
}

// 3scale delivers to plain http receivers, and so does Portolan, but the
// operator is told, once per receiver, when one is beyond this host: an
// application's events carry its keys.
func TestWebhookDeliveryWarnsOfPlainHTTPOffLoopback(t *testing.T) {
	// 192.0.2.1 (TEST-NET-1) answers nothing: the try fails, after the warning.
	logs, _ := deliverOnce(t, "http://user:pw@192.0.2.1:9/hook?secret=s", 200*time.Millisecond)
	assert.Contains(t, logs, "in plain http")
	assert.Contains(t, logs, "http://192.0.2.1:9/hook", "the warning names the receiver")
	assert.NotContains(t, logs, "pw", "the warning shows the URL's password")
	assert.NotContains(t, logs, "secret=s", "the warning shows the URL's query")

	ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ok.Close()
	logs, failure := deliverOnce(t, ok.URL+"/hook", 5*time.Second)
	assert.Empty(t, failure)
	assert.NotContains(t, logs, "plain http", "a receiver on loopback is warned of")

	var buf bytes.Buffer
	d := &webhookDelivery{log: zerolog.New(&buf)}
	for range 3 {
		d.warnClearText("http://hooks.example/in", "http://hooks.example/in")
	}
	assert.Equal(t, 1, strings.Count(buf.String(), "plain http"), "warned more than once for one receiver")
}
