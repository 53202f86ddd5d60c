package coordinator

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
)

// A webhook URL often carries the receiver's secret (user info, a token in
// the query): a failed delivery's log line and its failure record name the
// receiver without it.
func TestWebhookDeliveryFailureNeverShowsTheURLSecrets(t *testing.T) {
	store, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	// a port nothing listens on: the POST is refused
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	for _, raw := range []string{
		"http://hookuser:hookpass@" + addr + "/hook?token=SECRETQ#frag",
		"http://hookuser:hookpass@" + addr + "/\x7f?token=SECRETQ", // unparsable
	} {
		_, err = store.Update(context.Background(), func(tx *composition.Tx) error {
			return tx.Create(&composition.WebHookEvent{Type: "account", Action: "updated", URL: raw, XML: "<event/>"})
		})
		require.NoError(t, err)
		var logs bytes.Buffer
		d := &webhookDelivery{store: store, cfg: WebhookConfig{Attempts: 1}.withDefaults(),
			client: &http.Client{Timeout: 5 * time.Second}, log: zerolog.New(&logs)}
		events := store.Snapshot().WebHookEvents.All()
		require.Len(t, events, 1)
		require.True(t, d.deliver(context.Background(), events[0]))

		failures := store.Snapshot().WebHookFailures.All()
		require.NotEmpty(t, failures)
		recorded := failures[len(failures)-1].Error
		for _, secret := range []string{"hookpass", "SECRETQ", "hookuser", "frag"} {
			assert.NotContains(t, logs.String(), secret, "the log line shows the URL's secret")
			assert.NotContains(t, recorded, secret, "the failure's error shows the URL's secret")
		}
		assert.Contains(t, logs.String(), "webhook delivery failed", "the failure is still logged")
	}
	failures := store.Snapshot().WebHookFailures.All()
	assert.Contains(t, failures[0].Error, "http://"+addr+"/hook", "the error still names the receiver")
}
