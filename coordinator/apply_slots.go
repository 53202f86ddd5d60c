package coordinator

import (
	"context"
	"fmt"
)

// decodeSlots bounds the sets of documents decoded at once, from images
// and from `portolan apply` alike (Coordinator.decodeSlots, made by
// newDecodeSlots). While it is parsed, a YAML source costs home about a
// hundred times its size (the YAML library's nodes, before the manifest's
// budget can refuse them): one image body within
// registry.MaxImageDocumentsBytes peaked a coordinator at 130 MiB, and
// eight in parallel at 900 MiB. Decoded, the documents cost less than
// their source (1.9 MiB of metrics: 0.75 MiB), so `portolan apply`
// releases the slot once they are: hashing their passwords (argon2id,
// seconds for hundreds) holds no other apply's decode back, and their
// write serializes on the store's writer anyway.
type decodeSlots chan struct{}

func newDecodeSlots() decodeSlots { return make(decodeSlots, 1) }

// decodeSlot waits for the slot, giving up with ctx (the request's); the
// caller releases it with the function returned.
func (c *Coordinator) decodeSlot(ctx context.Context) (release func(), err error) {
	select {
	case c.decodeSlots <- struct{}{}:
		return func() { <-c.decodeSlots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for other documents to be applied first: %w", ctx.Err())
	}
}
