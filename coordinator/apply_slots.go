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
// their source (1.9 MiB of metrics: 0.75 MiB), so both release the slot
// once they are: hashing passwords (argon2id, seconds for hundreds, bounded
// by passwords instead) and the write, which serializes on the store's
// writer anyway, hold no other apply's decode back.
type decodeSlots struct {
	decode    chan struct{}
	passwords *passwordHasher // the other memory applies take at once (apply_passwords.go)
}

func newDecodeSlots() decodeSlots {
	return decodeSlots{decode: make(chan struct{}, 1), passwords: newPasswordHasher()}
}

// decodeInSlot runs decode holding the slot, waiting for it with ctx (the
// request's); the slot is freed when decode returns, or panics.
func (c *Coordinator) decodeInSlot(ctx context.Context, decode func()) error {
	select {
	case c.decodeSlots.decode <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for other documents to be applied first: %w", ctx.Err())
	}
	defer func() { <-c.decodeSlots.decode }()
	decode()
	return nil
}
