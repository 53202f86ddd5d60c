package gateway

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
)

func upstreamChain(rules string) string {
	return `[{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":` + rules + `}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// Manifest: "modify the upstream URL (scheme, host and port) of the request
// based on its path. It accepts regular expressions and, when matched
// against the request path, replaces the upstream URL with a given string."
// The path is kept; the Host header is the new upstream's, not the
// service's hostname_rewrite; the first matching rule wins.
func TestUpstreamReplacesSchemeHostAndPortByPath(t *testing.T) {
	other, got := echoUpstream(t, "other")
	third, _ := echoUpstream(t, "third")
	cg := startRouteGateway(t, upstreamChain(`[{"regex":"^/other","url":"`+other.URL+`"},{"regex":"^/o","url":"`+third.URL+`"}]`), func(f *gatewayFixture) {
		p, _ := f.tx.View().Proxies.Get(f.svc.ID)
		n := *p
		n.HostnameRewrite = "news.internal"
		require.NoError(t, f.tx.Update(&n))
	})
	a := call(t, "GET", cg.base+"/other/things?user_key="+cg.key, nil)
	require.Equal(t, "other", a.body)
	r := <-got
	assert.Equal(t, "/other/things", r.URL.Path)
	assert.Equal(t, "user_key="+cg.key, r.URL.RawQuery)
	assert.Equal(t, other.Listener.Addr().String(), r.Host)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "upstream", "routed"))

	assert.Equal(t, "third", call(t, "GET", cg.base+"/o?user_key="+cg.key, nil).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/x/other?user_key="+cg.key, nil).body, "no match: the service's upstream")
	assert.Equal(t, "news.internal", (<-cg.got).Host, "the service's upstream keeps its hostname_rewrite")
}

// As APIcast's Upstream: a path in the URL prefixes the request's path
// (the root path becomes the URL's path itself).
func TestUpstreamURLPathPrefixesThePath(t *testing.T) {
	other, got := echoUpstream(t, "other")
	cg := startRouteGateway(t, upstreamChain(`[{"regex":"/","url":"`+other.URL+`/api/"}]`), nil)
	require.Equal(t, "other", call(t, "GET", cg.base+"/users/1?user_key="+cg.key, nil).body)
	assert.Equal(t, "/api/users/1", (<-got).URL.Path)
	require.Equal(t, "other", call(t, "GET", cg.base+"/?user_key="+cg.key, nil).body)
	assert.Equal(t, "/api/", (<-got).URL.Path)
}

func TestUpstreamConfigErrorsNameTheField(t *testing.T) {
	for conf, field := range map[string]string{
		`{"rules":[{"url":"http://x"}]}`:                 "rules[0].regex",
		`{"rules":[{"regex":"/"}]}`:                      "rules[0].url",
		`{"rules":[{"regex":"(?!a)","url":"http://x"}]}`: "rules[0].regex",
		`{"rules":[{"regex":"/","url":"localhost:80"}]}`: "rules[0].url",
		`{"rules":[{"regex":"/","url":"http://"}]}`:      "rules[0].url",
		`{"rules":"all"}`:                                "rules",
	} {
		chain := policyChain(t, `[{"name":"upstream","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, field, fe.Field, conf)
		}
	}
}

func BenchmarkPolicyUpstream(b *testing.B) {
	other, got := echoUpstream(b, "other")
	go func() {
		for range got {
		}
	}()
	benchPolicy(b, upstreamChain(`[{"regex":"^/nothing","url":"http://127.0.0.1:1"},{"regex":"^/health","url":"`+other.URL+`"}]`), "/health?user_key=premium-key")
}
