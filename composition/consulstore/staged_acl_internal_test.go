package consulstore

import (
	"context"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A token that may read the composition's keys but not the stages under
// <prefix>staged/ (a policy written for the keys before large revisions
// existed) is told it is denied, naming the policy the whole prefix needs,
// while a large revision is unfinished: Consul lists a stage it may not
// read as empty, which is not the stage being corrupt.
func TestTokenThatCannotReadTheStageIsDeniedNotCorrupt(t *testing.T) {
	cs := testenv.StartConsulACL(t)
	writer := openInternal(t, cs.Client(t))
	svc := newService(t, writer, "svc")
	commitUnfinished(t, writer, svc, 70)

	const rules = `
key_prefix "internal/" { policy = "read" }
key_prefix "internal/staged/" { policy = "deny" }`
	named := cs.Token(t, "no-stages", rules)
	// The anonymous token given the same policy: Consul then hides what it
	// may not list without X-Consul-Results-Filtered-By-ACLs.
	acl := cs.Client(t).ACL()
	p, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "anonymous-no-stages", Rules: rules}, nil)
	require.NoError(t, err)
	_, _, err = acl.TokenUpdate(&api.ACLToken{AccessorID: anonymousAccessor, Policies: []*api.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
	require.NoError(t, err)
	for name, token := range map[string]string{"a token": named, "no token (anonymous)": ""} {
		t.Run(name, func(t *testing.T) {
			_, err := Open(context.Background(), Config{Client: cs.ClientWithToken(t, token), Prefix: "internal/", Logger: zerolog.Nop()})
			var denied *ErrDenied
			require.ErrorAs(t, err, &denied)
			assert.NotErrorAs(t, err, new(*ErrCorrupt))
			assert.Contains(t, err.Error(), `key_prefix "internal/" { policy = "write" }`, "says which policy the token needs")
		})
	}
}

// anonymousAccessor is Consul's anonymous token's accessor ID.
const anonymousAccessor = "00000000-0000-0000-0000-000000000002"
