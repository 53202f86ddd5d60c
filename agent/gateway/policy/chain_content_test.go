package policy

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// apicastStandIn stands for the gateway's apicast element, which takes no
// part in the content phase itself.
type apicastStandIn struct{}

func (apicastStandIn) Name() string { return "apicast" }

// The content phase is planned at Build: a chain in which nothing can
// answer before the element that forwards (the usual ones: apicast alone,
// or after content_caching, routing or upstream) has no step to run per
// request, and the elements APIcast never reaches are left out. Only an
// answering policy before the forward, an upstream chosen after the
// apicast element (set aside), or an upstream policy before another chooser
// (it forwards to its own choice, not the request's), costs a step.
func TestChainContentPlannedAtBuild(t *testing.T) {
	el := func(name, conf string) composition.PolicyConfig {
		return composition.PolicyConfig{Name: name, Version: "builtin", Enabled: true, Configuration: []byte(conf)}
	}
	var (
		apicast = el("apicast", `{}`)
		echo    = el("echo", `{}`)
		debug   = el("liquid_context_debug", `{}`)
		caching = el("content_caching", `{"rules":[{"cache":true}]}`)
		routing = el("routing", `{"rules":[{"url":"http://127.0.0.1:9","condition":{"operations":[]}}]}`)
		up      = el("upstream", `{"rules":[{"regex":"^/a","url":"http://127.0.0.1:9"}]}`)
	)
	for _, tc := range []struct {
		name      string
		chain     []composition.PolicyConfig
		steps     []contentRole
		atForward []string
	}{
		{"apicast", []composition.PolicyConfig{apicast}, nil, nil},
		{"content_caching apicast", []composition.PolicyConfig{caching, apicast}, nil, []string{"content_caching"}},
		{"apicast content_caching", []composition.PolicyConfig{apicast, caching}, nil, []string{"content_caching"}},
		{"upstream apicast", []composition.PolicyConfig{up, apicast}, nil, nil},
		{"routing upstream apicast", []composition.PolicyConfig{routing, up, apicast}, nil, []string{"routing"}},
		{"routing routing apicast", []composition.PolicyConfig{routing, routing, apicast}, nil, []string{"routing", "routing"}},
		{"upstream routing apicast", []composition.PolicyConfig{up, routing, apicast}, []contentRole{contentForwardsChosen}, []string{"routing"}},
		{"upstream upstream apicast", []composition.PolicyConfig{up, up, apicast}, []contentRole{contentForwardsChosen}, nil},
		{"apicast echo liquid_context_debug", []composition.PolicyConfig{apicast, echo, debug}, nil, nil},
		{"echo apicast", []composition.PolicyConfig{echo, apicast}, []contentRole{contentAnswers}, nil},
		{"content_caching echo apicast", []composition.PolicyConfig{caching, echo, apicast}, []contentRole{contentAnswers}, []string{"content_caching"}},
		{"upstream echo apicast", []composition.PolicyConfig{up, echo, apicast}, []contentRole{contentForwardsChosen, contentAnswers}, nil},
		{"echo upstream apicast", []composition.PolicyConfig{echo, up, apicast}, []contentRole{contentAnswers}, nil},
		{"apicast routing", []composition.PolicyConfig{apicast, routing}, []contentRole{contentForwards}, []string{"routing"}},
		{"upstream apicast upstream", []composition.PolicyConfig{up, apicast, up}, []contentRole{contentForwardsChosen, contentForwards}, nil},
		{"echo alone", []composition.PolicyConfig{echo}, []contentRole{contentAnswers}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Build(tc.chain, apicastStandIn{}, &Env{Metrics: NewMetrics(prometheus.NewRegistry())})
			require.NoError(t, err)
			var steps []contentRole
			for _, s := range c.content {
				steps = append(steps, s.role)
			}
			assert.Equal(t, tc.steps, steps)
			var atForward []string
			for _, x := range c.atForward {
				atForward = append(atForward, c.policies[x.pos].Name())
			}
			assert.Equal(t, tc.atForward, atForward)
		})
	}
}
