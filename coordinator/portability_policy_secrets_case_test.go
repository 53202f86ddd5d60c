package coordinator

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// A deployed config's content is read as encoding/json reads it, keys
// matched whatever their case ("Proxy", "Policy_Chain", "Configuration"):
// the secrets under such a key are hidden in place by an export without
// secrets, never left in clear beside a hidden copy under another key,
// and an import puts home's back in the same place, changing nothing.
func TestExportWithoutSecretsHidesPolicySecretsUnderKeysOfAnotherCase(t *testing.T) {
	for i, content := range []string{
		`{"proxy":{"policy_chain":[{"name":"headers","Configuration":{"request":[{"op":"set","header":"Authorization","value":"Bearer cased-token-111","value_type":"plain"}]}}]}}`,
		`{"Proxy":{"policy_chain":[{"name":"headers","configuration":{"request":[{"op":"set","header":"Authorization","value":"Bearer cased-token-111","value_type":"plain"}]}}]}}`,
		`{"proxy":{"Policy_Chain":[{"name":"headers","configuration":{"request":[{"op":"set","header":"Authorization","value":"Bearer cased-token-111","value_type":"plain"}]}}]}}`,
		`{"proxy":{"policy_chain":[{"name":"headers","configuration":{"request":[{"op":"set","header":"Authorization","value":"Bearer cased-token-111","value_type":"plain"}]},"CONFIGURATION":{"client_secret":"cased-token-111"}}]}}`,
	} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			c := newApplyCoordinator(t, threescale.Caps{})
			code, body := postApply(t, c, "", secretPolicies)
			require.Equal(t, http.StatusOK, code, body)
			_, err := c.store.Update(context.Background(), func(tx *composition.Tx) error {
				s, _ := tx.View().ServiceBySystemName("news")
				return tx.Create(&composition.ProxyConfig{ServiceID: s.ID, Environment: composition.EnvProduction, Version: 1, Content: []byte(content)})
			})
			require.NoError(t, err)
			_, config := newsChains(t, c)
			rev := c.store.Snapshot().Revision

			out := exportDocument(t, c, "")
			assert.False(t, bytes.Contains(out, []byte("cased-token-111")), "an export without secrets holds the secret of %s", content)

			w := importDocument(c, out)
			require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
			_, got := newsChains(t, c)
			assert.Equal(t, string(config), string(got), "the deployed config is home's, as it was")
			assert.Equal(t, rev, c.store.Snapshot().Revision, "nothing changed: no revision")
		})
	}
}
