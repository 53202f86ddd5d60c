package coordinator

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// Documents that only refer to a service home has (an Account's
// application, a Placement) declare nothing of it: with prune its
// placements stay.
func TestPruneLeavesServicesTheDocumentsOnlyReferTo(t *testing.T) {
	news := `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
plans:
- {system_name: gold, name: Gold}
---
apiVersion: portolan.dev/v1
kind: Placement
name: news-gold
selector: {service: news}
service: news
`
	for name, docs := range map[string]string{
		"an account": `apiVersion: portolan.dev/v1
kind: Account
org_name: ACME
applications:
- {name: Reader, service: news, plan: gold}
`,
		"another placement": `apiVersion: portolan.dev/v1
kind: Placement
name: news-canary
selector: {service: news, labels: {track: canary}}
service: news
`,
	} {
		t.Run(name, func(t *testing.T) {
			c := newApplyCoordinator(t, threescale.Caps{})
			code, body := postApply(t, c, "", news)
			require.Equal(t, 200, code, body)
			code, body = postApply(t, c, "prune=true", docs)
			require.Equal(t, 200, code, body)
			require.NotContains(t, body, `"op":"delete"`, "nothing of service news is declared, so nothing of it is pruned")
			_, ok := c.store.Snapshot().Placements.Find(func(p *composition.Placement) bool { return p.Name == "news-gold" })
			require.True(t, ok, "placement news-gold stays")
		})
	}
}
