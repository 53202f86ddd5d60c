package coordinator

import (
	"context"
	"fmt"
)

// decodeSlots bounds the sets of documents decoded and applied at once,
// from images and from `portolan apply` alike (Coordinator.decodeSlots,
// made by newDecodeSlots). While it is parsed, a YAML source costs home
// about a hundred times its size (the YAML library's nodes, before the
// manifest's budget can refuse them): one image body within
// registry.MaxImageDocumentsBytes peaked a coordinator at 130 MiB, and
// eight in parallel at 900 MiB. The applies serialize on the store's
// writer anyway, so one at a time costs little but a wait.
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
