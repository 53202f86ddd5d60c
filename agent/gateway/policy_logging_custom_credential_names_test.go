package gateway

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// A service may name its credentials' parameters as it likes: APIcast's
// configuration/service.lua reads them from the proxy,
// "user_key = lower(proxy.auth_user_key or 'user_key'), app_id =
// lower(proxy.auth_app_id or 'app_id'), app_key = lower(proxy.auth_app_key
// or 'app_key')". The trust model (DESIGN.md "Trust") says application
// keys never reach a log line; the logging policy's default line holds
// the request's target, so a credential sent in the query under the
// service's own name ("?subscription=…", "?client=…&sig=…") must be masked
// there as user_key is, whatever the name sounds like.
func TestPolicyLoggingMasksServiceCredentialNames(t *testing.T) {
	for _, tc := range []struct {
		name, backend, query string
		edit                 func(p *composition.Proxy)
		secrets              []string
	}{
		{name: "user_key", backend: backendUserKey, query: "subscription=SECRETuserkey123&page=2",
			edit:    func(p *composition.Proxy) { p.AuthUserKey = "subscription" },
			secrets: []string{"SECRETuserkey123"}},
		{name: "app_id and app_key", backend: backendAppID, query: "client=SECRETappid123&sig=SECRETappkey123&page=2",
			edit:    func(p *composition.Proxy) { p.AuthAppID, p.AuthAppKey = "client", "sig" },
			secrets: []string{"SECRETappid123", "SECRETappkey123"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &logSink{}
			f := newGatewayFixture(t, tc.backend)
			f.proxy(t, func(p *composition.Proxy) {
				p.PolicyChain = policyChain(t, `[{"name":"logging","version":"builtin","enabled":true,"configuration":{}},
					{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
				tc.edit(p)
			})
			premium := *f.premiumApp
			if tc.backend == backendAppID {
				premium.AppID, premium.AppKeys = tc.secrets[0], []string{tc.secrets[1]}
			} else {
				premium.UserKey = tc.secrets[0]
			}
			require.NoError(t, f.tx.Update(&premium))
			up, _ := echoUpstream(t, "app")
			cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL}
			u, err := cfg.Check()
			require.NoError(t, err)
			g := New(cfg, u, "self", &countingLedger{}, prometheus.NewRegistry(), zerolog.New(sink).Level(zerolog.DebugLevel).With().Timestamp().Logger())
			updated, err := g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
			require.NoError(t, err)
			require.True(t, updated)
			ln := runGateway(t, g, cfg.Listen)

			a := call(t, "GET", "http://"+ln.Addr().String()+"/articles?"+tc.query, nil)
			require.Equal(t, http.StatusOK, a.status, a.body)
			sink.waitAccess(t, 1)
			for _, s := range tc.secrets {
				assert.NotContains(t, sink.String(), s, "the agent's log holds a credential")
			}
			assert.Contains(t, sink.String(), "page=2", "the other parameters are kept")
		})
	}
}
