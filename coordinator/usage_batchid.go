package coordinator

import (
	"fmt"
	"strings"
)

// Usage batch ids are the agent's instance id and a sequence number
// (agent/ledger), and every instance reads every instance id on the map:
// were they deduplicated as sent, any instance could send batches under
// another's next ids first, and home would take the other's usage for
// duplicates and never count it. So a batch id is deduplicated within the
// space of the join token its sender registered with (batchKey): a batch
// spooled by an earlier incarnation of the same container, sent again by
// the next one with the same token, is still counted once.

// batchKey is what home deduplicates the batch id under for an instance
// registered with joinToken: the id itself for the bootstrap token (as
// before join tokens), the id prefixed with the token's id otherwise. NUL
// separates them, and checkBatchID refuses it in ids, so no id sent under
// one token is a key of another's.
func batchKey(joinToken, id string) string {
	if joinToken == "" {
		return id
	}
	return "\x00" + joinToken + "\x00" + id
}

// checkBatchID refuses a batch id with control characters: agents send
// their instance id (letters, digits and ._:-) and a number.
func checkBatchID(id string) error {
	if i := strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return fmt.Errorf("id: has a control character at byte %d: send the instance id and a sequence number", i)
	}
	return nil
}
