package registry

import (
	"errors"
	"fmt"

	"github.com/portolan/portolan/composition"
)

// An image brings its management (portolan agent --composition): after
// registering, the agent PUTs its documents, as a JSON array in the
// manifest format, to ImageCompositionPath with its instance credential,
// and home applies them under the version rule (composition.Managed).
//
// Who may: an instance registered with a join token scoped to a service
// (portolan token create --service S). The service it manages is the one
// its token names, which is also the service it registered as: the token
// admits no other. That is the whole rule: placements, which may serve an
// instance's traffic from another service, are not consulted, so an
// instance manages exactly the service whose system_name its image and its
// token agree on, and no placement written at home can widen that.

// MaxImageDocumentsBytes bounds the documents an image brings.
const MaxImageDocumentsBytes = 1 << 20

// ImageApplyReply answers the documents an image brought.
type ImageApplyReply struct {
	// Service is the system_name of the service the documents are for.
	Service string `json:"service"`
	// Version is the documents' version; StoredVersion what the service
	// records after the call.
	Version       int64 `json:"version"`
	StoredVersion int64 `json:"stored_version"`
	// Outcome is composition.ManagedApply, ManagedUnchanged or ManagedOlder
	// (a conflict is a 409).
	Outcome composition.ManagedOutcome `json:"outcome"`
	// Revision is the composition's revision after the call.
	Revision uint64 `json:"revision"`
	// Changes are what an apply wrote (none for the other outcomes).
	Changes []composition.PlannedChange `json:"changes"`
}

// ErrUnscoped is returned by ImageScope for an instance that registered
// with an unscoped token: it may not bring documents.
var ErrUnscoped = errors.New("this instance registered with an unscoped token: bringing a composition needs a join token scoped to the service (portolan token create --service SERVICE)")

// ImageScope returns the service the instance id may bring documents for:
// that of the join token it registered with. ErrUnknown for an instance
// home does not know, ErrUnscoped for one registered with the bootstrap
// token or an unscoped join token.
func (r *Registry) ImageScope(id string) (string, error) {
	r.mu.Lock()
	in, ok := r.instances[id]
	var tokenID string
	if ok {
		tokenID = in.tokenID
	}
	r.mu.Unlock()
	if !ok {
		return "", ErrUnknown
	}
	if tokenID == "" || r.tokens == nil {
		return "", ErrUnscoped
	}
	tok, ok := r.tokens.Get(tokenID)
	if !ok {
		return "", fmt.Errorf("%w: its join token is gone", ErrUnknown)
	}
	if tok.Service == "" {
		return "", ErrUnscoped
	}
	return tok.Service, nil
}
