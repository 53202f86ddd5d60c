package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// payload_limits reads a small chunked body whole to measure it; a client
// that stops sending it gets the body timeout's 408, as from the gateway
// itself, not a 400 for a body that "could not be read".
func TestPolicyPayloadLimitsStalledBodyIs408(t *testing.T) {
	app := newWtApp(t)
	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	p, ok := f.tx.View().Proxies.Get(f.svc.ID)
	require.True(t, ok)
	n := *p
	n.PolicyChain = policyChain(t, `[{"name":"payload_limits","version":"builtin","enabled":true,"configuration":{"request":1000,"response":0}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)
	require.NoError(t, f.tx.Update(&n))
	_, gw, _ := startTestGateway(t, f, app.url, f.placement(f.premium), Config{BodyTimeout: wbtTimeout})

	wc := wtDial(t, strings.TrimPrefix(gw, "http://"))
	wc.send("POST /upload?" + wtKey + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" + wtChunk("0123456789"))
	sent := time.Now()
	a := wc.read(http.MethodPost)
	assert.Equal(t, http.StatusRequestTimeout, a.status, a.body)
	assert.Less(t, time.Since(sent), wbtTimeout+time.Second)
	assert.Empty(t, app.seen(), "the app got a request")
}
