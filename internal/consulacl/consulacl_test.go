package consulacl

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
)

// Consul's words are hashicorp/consul acl/errors.go's, as its HTTP API
// answers them (403) and as the real Consul of agent/consul_acl_*_test.go
// sends them.
func TestHintWordsRefusalsAndLeavesOtherErrors(t *testing.T) {
	denied := api.StatusError{Code: 403, Body: "Permission denied: token with AccessorID 'x' lacks permission 'session:write' on \"node1\"\n"}
	err := Hint(fmt.Errorf("create session: %w", denied), "the coordinator's", `session_prefix "" { policy = "write" }`)
	assert.Equal(t, `Consul refused the coordinator's token (Permission denied: token with AccessorID 'x' lacks permission 'session:write' on "node1"): `+
		`give the token a policy with session_prefix "" { policy = "write" } (README, Consul ACLs), or check --consul-token`, err.Error())
	assert.True(t, errors.As(err, new(api.StatusError)), "the Consul error is still wrapped")

	unknown := api.StatusError{Code: 403, Body: "ACL not found"}
	assert.Equal(t, "Consul does not know the agent's token (ACL not found): check --consul-token (or CONSUL_HTTP_TOKEN)",
		Hint(unknown, "the agent's", "any").Error())

	for _, other := range []error{api.StatusError{Code: 500, Body: "rpc error"}, errors.New("connection refused"), nil} {
		assert.Equal(t, other, Hint(other, "the agent's", "any"), "not a refusal: returned as it is")
	}
	assert.True(t, TxnRefusal("Permission denied: token lacks permission 'key:write'"))
	assert.False(t, TxnRefusal("failed to lock key \"x\": CAS failed"))
}
