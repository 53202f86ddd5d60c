package composition

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// webhookEventXML is porta's document of an application event: its
// <application> carries the user_key.
const webhookEventXML = `<?xml version="1.0" encoding="UTF-8"?><event><action>created</action><type>application</type>` +
	`<object><application><id>7</id><user_key>` + webhookUserKey + `</user_key></application></object></event>`

const webhookUserKey = "secretUserKey0123456789abcdef0123"

// A composition with one undelivered webhook event and one failure, both
// of an application event.
func webhookOutbox(t *testing.T) *Composition {
	t.Helper()
	tx := NewTx(New(), time.Now())
	require.NoError(t, tx.Create(&WebHookEvent{Type: "application", Action: "created", URL: "https://hooks.example.com/x", XML: webhookEventXML}))
	require.NoError(t, tx.Create(&WebHookFailure{UUID: "u", Time: time.Now(), Error: "500", URL: "https://hooks.example.com/x", Event: webhookEventXML}))
	return tx.Result()
}

// An export without secrets leaves application keys behind: webhook events'
// and failures' documents, porta's, carry them, and are left out. With
// secrets they stay.
func TestExportWithoutSecretsLeavesWebhookEventDocumentsOut(t *testing.T) {
	c := webhookOutbox(t)
	b, err := json.Marshal(Export(c, false, time.Now()))
	require.NoError(t, err)
	require.NotContains(t, string(b), webhookUserKey, "an export without secrets carries an application key in webhook_events/webhook_failures")

	full := Export(c, true, time.Now())
	require.Len(t, full.WebHookEvents, 1)
	require.Equal(t, webhookEventXML, full.WebHookEvents[0].XML)
	require.Len(t, full.WebHookFailures, 1)
	require.Equal(t, webhookEventXML, full.WebHookFailures[0].Event)
}

// An import does not queue the exporting home's undelivered webhook events
// in this home's outbox, where they would be delivered a second time; the
// failures, a record for the operator, come along.
func TestImportLeavesTheSourcesWebhookOutboxBehind(t *testing.T) {
	doc := Export(webhookOutbox(t), true, time.Now())

	dst := NewTx(New(), time.Now())
	stats, err := Import(dst, doc)
	require.NoError(t, err)
	require.Zero(t, dst.View().WebHookEvents.Len(), "an import put the source's undelivered events in this home's outbox")
	require.Equal(t, 1, dst.View().WebHookFailures.Len(), "the failures are imported")
	require.Equal(t, 1, stats.Entities)
}

// ImportByName, the coordinator's import, leaves the outbox behind as
// Import does, whether the document has secrets (the events' documents)
// or not.
func TestImportByNameLeavesTheSourcesWebhookOutboxBehind(t *testing.T) {
	src := webhookOutbox(t)
	for _, secrets := range []bool{false, true} {
		dst := NewTx(New(), time.Now())
		_, err := ImportByName(dst, Export(src, secrets, time.Now()))
		require.NoError(t, err)
		require.Zero(t, dst.View().WebHookEvents.Len(), "secrets %v: an import put the source's undelivered events in this home's outbox", secrets)
		require.Equal(t, 1, dst.View().WebHookFailures.Len(), "secrets %v: the failures are imported", secrets)
	}
}
