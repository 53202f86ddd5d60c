package coordinator_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
)

// A public URL or trusted proxies the console could not use safely stop
// home at start, naming the flag.
func TestConsoleProxySettingsAreCheckedAtStart(t *testing.T) {
	for name, tc := range map[string]struct {
		proxy coordinator.ProxyConfig
		want  string
	}{
		"a public URL with a path":          {coordinator.ProxyConfig{PublicURL: "https://home.example.com/portolan"}, "--public-url"},
		"plain http off loopback":           {coordinator.ProxyConfig{PublicURL: "http://home.example.com"}, "--public-url"},
		"a proxy that is no address":        {coordinator.ProxyConfig{TrustedProxies: []string{"proxy.internal"}}, "--trusted-proxies"},
		"a block trusting every peer":       {coordinator.ProxyConfig{TrustedProxies: []string{"0.0.0.0/0"}}, "--trusted-proxies"},
		"an IPv6 block trusting every peer": {coordinator.ProxyConfig{TrustedProxies: []string{"::/0"}}, "every peer"},
	} {
		_, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Proxy: tc.proxy})
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), tc.want, name)
		}
	}
}

// Plain HTTP off loopback is served behind a proxy terminating TLS: home
// says at start that the console needs --public-url there.
func TestInsecureHTTPWithoutPublicURLIsWarnedForTheConsole(t *testing.T) {
	const warning = "give --public-url"
	h := startTLSHome(t, everyInterface, t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{InsecureHTTP: true}})
	h.stop()
	assert.Equal(t, 1, h.logs.count(warning), "warned once at start: %s", h.logs)

	h = startTLSHome(t, everyInterface, t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{InsecureHTTP: true},
		Proxy: coordinator.ProxyConfig{PublicURL: "https://home.example.com", TrustedProxies: []string{"10.0.0.0/8"}}})
	h.stop()
	require.Zero(t, h.logs.count(warning), "not with a public URL: %s", h.logs)
}
