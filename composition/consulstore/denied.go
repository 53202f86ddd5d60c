package consulstore

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/portolan/portolan/internal/consulacl"
)

// ErrDenied is why the store does not open, or refuses a write, when
// Consul's ACLs refuse the coordinator's token: a token Consul does not
// know, one whose policy does not cover the prefix, or none at all. Nothing
// the caller sent is wrong and no retry succeeds until an operator fixes
// the token or its policy, so it is never told as a conflict.
type ErrDenied struct {
	Prefix string // the store's key prefix: what the policy must cover
	Op     string // what was refused: "read", "write"
	Reason string // Consul's words, which name the permission missing
}

func (e *ErrDenied) Error() string {
	return consulacl.Explain("the coordinator's", fmt.Sprintf("%s, to %s %s", e.Reason, e.Op, e.Prefix),
		fmt.Sprintf(`key_prefix %q { policy = "write" }`, keyPrefixOf(e.Prefix)))
}

// HTTPStatus maps it to 503: the coordinator cannot reach its store, and no
// retry succeeds until an operator acts.
func (e *ErrDenied) HTTPStatus() int { return http.StatusServiceUnavailable }

// keyPrefixOf is the KV prefix a coordinator's policy grants: the store's
// root less "composition/", since usage counters and the webhook lock live
// beside it.
func keyPrefixOf(root string) string { return strings.TrimSuffix(root, "composition/") }

// denied returns *ErrDenied when err is Consul refusing the token, else nil.
func (s *Store) denied(op string, err error) *ErrDenied {
	if reason, ok := consulacl.Refused(err); ok {
		return &ErrDenied{Prefix: s.root, Op: op, Reason: reason}
	}
	return nil
}

// deniedOp returns *ErrDenied when a transaction's error is an ACL refusal.
func (s *Store) deniedOp(errs api.TxnErrors) *ErrDenied {
	for _, e := range errs {
		if consulacl.TxnRefusal(e.What) {
			return &ErrDenied{Prefix: s.root, Op: "write", Reason: e.What}
		}
	}
	return nil
}

// filtered is why load refuses a list Consul answered with keys left out:
// the token may read some of the prefix, and a composition missing some of
// its entities must not be served (nor written over).
func (s *Store) filtered() *ErrDenied {
	return &ErrDenied{Prefix: s.root, Op: "read",
		Reason: "Consul's ACLs left keys out of the list (X-Consul-Results-Filtered-By-ACLs)"}
}

// checkReadable reads key, under which a list found keys missing: Consul
// lists what a token may not read as nothing at all, and with no token (the
// anonymous one) not even the filtered header says so, while a read of the
// key itself is refused (403). Without this a coordinator whose token
// cannot read the prefix would serve an empty composition (the meta key),
// or take a stage it may not read for a corrupt one.
func (s *Store) checkReadable(ctx context.Context, key string) error {
	if _, _, err := s.kv.Get(key, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx)); err != nil {
		if d := s.denied("read", err); d != nil {
			return d
		}
		return fmt.Errorf("consulstore: read %s: %w", key, err)
	}
	return nil
}
