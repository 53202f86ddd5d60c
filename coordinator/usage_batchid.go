package coordinator

import (
	"fmt"
	"strings"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/jointoken"
)

// Usage batch ids are the agent's instance id and a sequence number
// (agent/ledger), and every instance reads every instance id on the map:
// were they deduplicated as sent, any instance could send batches under
// another's next ids first, and home would take the other's usage for
// duplicates and never count it. So a batch id is recorded within the
// space of the join token its sender registered with (batchKey): a batch
// spooled by an earlier incarnation of the same container, sent again by
// the next one with the same token, is still counted once. So is a batch
// sent again under a new credential (the agent registered again, after
// home restarted or forgot it): a credential changes at every
// registration, the token it was registered with does not.
//
// A token rotation changes the space: an incarnation registered with
// token A sends a batch and loses the reply, and the next one, on the same
// cache dir but registered with token B, sends it again. The batch says
// which tokens it may have been applied within (registry.UsageBatch
// SentWith: the agent records each in its spool before it sends with it),
// and home looks the id up in each of those spaces too (appliedBefore),
// but records it only in the sender's. Another instance can thus write
// nothing into a space not its own token's: naming a victim's token only
// makes home look there, and at worst keep the sender's own usage from
// counting, which it could do by not sending it.
//
// Builds before token spaces recorded every id as it was sent, and so did
// builds before this one for the bootstrap token. Every space has a prefix
// now, so an id recorded as sent was recorded by such a build (an older
// home, or one rolled back to), and home finds it whatever token sends the
// batch again: a batch an older home applied and whose reply was lost is
// not counted a second time after the upgrade. Nothing records ids as sent
// any more, so no instance can claim one there.

// batchKey is what home deduplicates the batch id under for an instance
// registered with joinToken: the id prefixed with the token's id, or with
// nothing for the bootstrap token. NUL separates them, and checkBatchID
// refuses it in ids, so no id sent under one token is a key of another's,
// nor the id as an older build recorded it.
func batchKey(joinToken, id string) string {
	return "\x00" + joinToken + "\x00" + id
}

// checkBatchID refuses a batch id with control characters (agents send
// their instance id, letters, digits and ._:-, and a number), and a
// SentWith that is not a short list of join token ids.
func checkBatchID(b *registry.UsageBatch) error {
	if i := strings.IndexFunc(b.ID, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return fmt.Errorf("id: has a control character at byte %d: send the instance id and a sequence number", i)
	}
	if len(b.SentWith) > registry.MaxSentWith {
		return fmt.Errorf("sent_with: names %d join tokens, at most %d", len(b.SentWith), registry.MaxSentWith)
	}
	for i, id := range b.SentWith {
		if id == "" {
			continue
		}
		if err := jointoken.CheckID(id); err != nil {
			return fmt.Errorf("sent_with[%d]: is not a join token id (8 lowercase hex digits, or \"\" for the bootstrap token)", i)
		}
	}
	return nil
}

// appliedBefore reports whether the batch's id was applied within the
// space of a token of its SentWith other than its sender's (senderToken),
// whose space Apply looks at itself, or by an older build, as it was sent.
// It records nothing.
func (c *Coordinator) appliedBefore(senderToken string, b *registry.UsageBatch) (bool, error) {
	if seen, err := c.usage.Seen(b.ID); err != nil || seen {
		return seen, err
	}
	for _, tok := range b.SentWith {
		if tok == senderToken {
			continue
		}
		seen, err := c.usage.Seen(batchKey(tok, b.ID))
		if err != nil || seen {
			return seen, err
		}
	}
	return false, nil
}
