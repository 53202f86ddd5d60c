package http1

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHopByHop(t *testing.T) {
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		assert.True(t, HopByHop(k), k)
	}
	for _, k := range []string{"Content-Length", "Authorization", "Host", "X-Forwarded-For", "connection"} {
		assert.False(t, HopByHop(k), k)
	}
}

func TestConnectionListed(t *testing.T) {
	h := http.Header{"Connection": {"keep-alive, x-trace ", "close"}}
	assert.True(t, ConnectionListed(h, "X-Trace"))
	assert.True(t, ConnectionListed(h, "Close"))
	assert.False(t, ConnectionListed(h, "X-Other"))
	assert.False(t, ConnectionListed(http.Header{}, "X-Trace"))
}

func TestRemoveHopByHop(t *testing.T) {
	h := http.Header{
		"Connection":        {"X-Trace, , Keep-Alive"},
		"X-Trace":           {"1"},
		"Keep-Alive":        {"timeout=5"},
		"Transfer-Encoding": {"chunked"},
		"Proxy-Connection":  {"keep-alive"},
		"Content-Type":      {"application/json"},
		"Accept":            {"*/*"},
	}
	RemoveHopByHop(h)
	assert.Equal(t, http.Header{"Content-Type": {"application/json"}, "Accept": {"*/*"}}, h)
}

func TestDropConnectionListedKeepsOnlyConnectionOptions(t *testing.T) {
	h := http.Header{
		"Connection":      {"keep-alive, X-Secret", "Upgrade,  x-trace ,"},
		"X-Secret":        {"s"},
		"X-Trace":         {"t"},
		"Upgrade":         {"websocket"},
		"X-Consumer-Plan": {"gold"},
	}
	DropConnectionListed(h)
	assert.Equal(t, http.Header{
		"Connection":      {"keep-alive, Upgrade"},
		"Upgrade":         {"websocket"},
		"X-Consumer-Plan": {"gold"},
	}, h)
	assert.False(t, ConnectionListed(h, "X-Consumer-Plan"), "a field set later is no longer listed")

	h = http.Header{"Connection": {"X-Only"}, "X-Only": {"1"}}
	DropConnectionListed(h)
	assert.Empty(t, h)
}
