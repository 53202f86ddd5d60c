package ledger

import (
	"slices"

	"github.com/portolan/portolan/registry"
)

// Batches across a join token rotation. Home applies a batch id once
// within the space of the join token its sender registered with, so that
// no other token's instance can claim an id first. A batch sent with one
// token whose reply was lost, then sent again by the next incarnation on
// the same cache dir, registered with a new token (the old one rotated
// out), falls in another space: home would count it twice. So each batch
// carries the tokens it may have been applied within
// (registry.UsageBatch.SentWith): the one it was cut under, and every one
// it is about to be sent with, written into its spool file before it is
// sent with it, so that no crash loses one. Home takes it for a duplicate
// when any of them applied it.

// SendsWith tells the ledger the id of the join token the agent registers
// with ("" for the coordinator's bootstrap token); call it before Run.
func (l *Ledger) SendsWith(tokenID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.token, l.tokenKnown = tokenID, true
}

// sentWithLocked is the SentWith of a batch cut now.
func (l *Ledger) sentWithLocked() []string {
	if !l.tokenKnown {
		return nil
	}
	return []string{l.token}
}

// markSentWith adds the agent's join token to sb's SentWith, in its spool
// file first, unless it is there. A batch with none was cut by an older
// agent, which may have sent it to a home from before per-token spaces,
// which kept every batch id in the bootstrap token's: that space is named
// too (a batch an older agent sent under another join token, to a home
// with per-token spaces, cannot be known here: re-sent after a rotation,
// it counts again). Past registry.MaxSentWith, the first name (the token
// the batch was cut and most likely applied under) is kept and the oldest
// after it go.
func (l *Ledger) markSentWith(sb *spoolBatch) error {
	l.mu.Lock()
	token, known := l.token, l.tokenKnown
	l.mu.Unlock()
	if !known || slices.Contains(sb.batch.SentWith, token) {
		return nil
	}
	sent := slices.Clone(sb.batch.SentWith)
	if len(sent) == 0 && token != "" {
		sent = append(sent, "")
	}
	sent = append(sent, token)
	if n := len(sent) - registry.MaxSentWith; n > 0 {
		sent = append(sent[:1], sent[1+n:]...)
	}
	sb.batch.SentWith = sent
	if l.dir == "" {
		return nil // in memory only: no later incarnation sends it
	}
	sb.written = false
	return l.persist(sb)
}
