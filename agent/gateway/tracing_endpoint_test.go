package gateway

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Config.Check refuses, at start, an --otel-endpoint the exporter would
// refuse at every export: plain http off loopback, unless
// --otel-insecure-http.
func TestConfigRefusesPlainHTTPCollectorOffLoopbackUnlessAllowed(t *testing.T) {
	check := func(endpoint string, insecureHTTP bool) error {
		cfg := Config{Listen: "127.0.0.1:0", Upstream: "http://127.0.0.1:3000", OTelEndpoint: endpoint, OTelInsecureHTTP: insecureHTTP}
		_, err := cfg.Check()
		return err
	}
	for _, ok := range []string{"http://127.0.0.1:4318", "http://localhost:4318", "http://[::1]:4318", "https://collector.example:4318"} {
		assert.NoError(t, check(ok, false), ok)
	}
	err := check("http://collector.example:4318", false)
	require.Error(t, err, "plain http to collector.example was taken")
	assert.Contains(t, err.Error(), "--otel-endpoint")
	assert.Contains(t, err.Error(), "--otel-insecure-http")

	assert.NoError(t, check("http://collector.example:4318", true), "--otel-insecure-http allows it")
	err = check("http://otlp:s3cret@collector.example:4318", true)
	require.Error(t, err, "credentials in clear were taken")
	assert.NotContains(t, err.Error(), "s3cret")
}
