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

// A deployed config's content may hold a key on the way to its policy
// configurations twice. Readers differ on which they take (encoding/json
// merges two objects under one key, so the first one's credential is read
// beside the last's), and an export without secrets leaves neither in
// clear, even when the last holds nothing to hide.
func TestExportWithoutSecretsHidesPolicySecretsUnderAKeyHeldTwice(t *testing.T) {
	secret := `{"request":[{"op":"set","header":"Authorization","value":"Bearer dup-token-333","value_type":"plain"}]}`
	for i, content := range []string{
		`{"proxy":{"policy_chain":[{"name":"headers","configuration":` + secret + `,"configuration":{}}]}}`,
		`{"Proxy":{"policy_chain":[{"name":"headers","configuration":` + secret + `}],"policy_chain":[]}}`,
		`{"Proxy":{"policy_chain":[{"name":"headers","configuration":` + secret + `}]},"Proxy":{"policy_chain":[]}}`,
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

			out := exportDocument(t, c, "")
			assert.False(t, bytes.Contains(out, []byte("dup-token-333")), "an export without secrets holds the secret of %s", content)
		})
	}
}
