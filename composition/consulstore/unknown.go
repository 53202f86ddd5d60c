package consulstore

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/hashicorp/consul/api"
)

// ErrOutcomeUnknown is why a write is refused when its transaction went to
// Consul and no answer came back (a timeout, a connection cut): Consul may
// still apply it (a paused or overloaded server commits what it had
// received once it goes on), so the caller is told to read before it
// retries, where a retry could find its own write ("name taken") or, for a
// write that is not idempotent, apply it twice. A write that did apply is
// then seen as any other coordinator's: the next write conflicts and
// reloads, and the watch publishes it.
type ErrOutcomeUnknown struct {
	What string // the revisions the transaction carried
	Err  error
}

func (e *ErrOutcomeUnknown) Error() string {
	return fmt.Sprintf("consulstore: persist %s: Consul did not answer (%v): the write may still be applied; "+
		"read the composition before retrying it", e.What, e.Err)
}

func (e *ErrOutcomeUnknown) Unwrap() error { return e.Err }

// HTTPStatus maps it to 504: the coordinator's upstream, Consul, did not
// answer in time.
func (e *ErrOutcomeUnknown) HTTPStatus() int { return http.StatusGatewayTimeout }

// outcomeKnown reports whether a transaction that failed with err surely
// did not apply: Consul refused it (a 4xx: a token it refuses, a body too
// large, a request it cannot read), or the connection was never made.
// Anything else (a timeout, a reset, an end of stream) may have carried
// the transaction to Consul before it failed, and so may a 5xx: Consul
// answers 500 when forwarding to its leader fails, or leadership is lost
// while the transaction is committed, either of which it may have applied.
func outcomeKnown(err error) bool {
	var status api.StatusError
	if errors.As(err, &status) {
		return status.Code < http.StatusInternalServerError
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
