package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 9110 section 7.6.1: the fields a client's Connection names concern its
// hop only. They are not forwarded, and a header the chain sets under one of
// those names (here the headers policy's X-Consumer-Plan) still reaches the
// app: the client cannot make the gateway drop what it adds.
func TestClientConnectionListCannotStripAHeaderThePolicySets(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{"request":[{"op":"set","header":"X-Consumer-Plan","value":"gold"}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{
		"Connection":      {"keep-alive, X-Consumer-Plan, X-Hop"},
		"X-Hop":           {"for the next hop only"},
		"X-Consumer-Plan": {"forged"},
	})
	require.Equal(t, http.StatusOK, a.status)
	got := <-cg.got
	assert.Equal(t, []string{"gold"}, got.Header.Values("X-Consumer-Plan"))
	assert.Empty(t, got.Header.Values("X-Hop"), "a field the client listed is not forwarded")
}
