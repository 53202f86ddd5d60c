package coordinator_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
)

const benchEventXML = `<?xml version="1.0" encoding="UTF-8"?><event><action>created</action><type>account</type>` +
	`<object><account><id>2</id><org_name>Acme</org_name><state>approved</state></account></object></event>`

// BenchmarkWebhookOutboxDelivery measures the delivery loop's throughput
// to a local receiver: b.N events committed to the outbox at once, each
// POSTed and then removed from the outbox in its own fsynced revision.
func BenchmarkWebhookOutboxDelivery(b *testing.B) {
	var delivered atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		delivered.Add(1)
	}))
	defer recv.Close()
	co, _ := startInProcess(b)
	store := co.Store()
	b.ReportAllocs()
	b.ResetTimer()
	_, err := store.Update(context.Background(), func(tx *composition.Tx) error {
		for range b.N {
			if err := tx.Create(&composition.WebHookEvent{Type: "account", Action: "created", URL: recv.URL, XML: benchEventXML}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for store.Snapshot().WebHookEvents.Len() > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("outbox not drained: %d left", store.Snapshot().WebHookEvents.Len())
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got := delivered.Load(); got != int64(b.N) {
		b.Fatalf("receiver got %d events, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBaselineWebhookPost is BenchmarkWebhookOutboxDelivery's baseline
// in the same run: the same POSTs to the same kind of receiver, without the
// outbox.
func BenchmarkBaselineWebhookPost(b *testing.B) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer recv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(recv.URL, "text/xml", strings.NewReader(benchEventXML))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
