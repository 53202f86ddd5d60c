package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Protobuf refuses to encode a string that is not UTF-8, and a request
// path is any bytes a client sends ("/%ff"): such a span goes to the
// collector with U+FFFD in place of the bad bytes, and the spans sent with
// it in the same batch are not lost.
func TestTracingNonUTF8PathKeepsTheBatch(t *testing.T) {
	rc := startOTLPReceiver(t)
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	g, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{OTelEndpoint: rc.url})
	t.Cleanup(func() { assert.NoError(t, g.StopTracing(context.Background())) })

	traceOf := func(path string) string {
		t.Helper()
		require.Equal(t, http.StatusOK, call(t, "GET", gw+path+"?user_key=premium-key", nil).status, path)
		parts := strings.Split((<-got).Header.Get("Traceparent"), "-")
		require.Len(t, parts, 4)
		return parts[1]
	}
	bad, good := traceOf("/caf%e9"), traceOf("/x") // within one batch (tracingBatch)
	assert.Equal(t, "/x", spanAttrs(rc.span(t, good))["url.path"])
	assert.Equal(t, "/caf\uFFFD", spanAttrs(rc.span(t, bad))["url.path"])
}
