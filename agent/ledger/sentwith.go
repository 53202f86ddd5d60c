package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/jointoken"
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

// A batch rebuilt from a journal at start (its agent stopped before it was
// cut) was never sent, but it was admitted under the join token of the
// incarnation before: the spool's sendsWithFile names that token, and the
// batch is cut under it. Without it the batch would name the bootstrap
// token's space (as a batch of an older agent does), where any instance
// registered with the bootstrap token may have claimed its id first and
// voided its usage.

// sendsWithFile holds the id of the join token the last incarnation on the
// spool sent with ("" for the bootstrap token): what a journal it left was
// admitted under. Absent: an older agent, or none told its token.
const sendsWithFile = "sendswith"

// SendsWith tells the ledger the id of the join token the agent registers
// with ("" for the coordinator's bootstrap token); call it before Run. It
// is written in the spool, for the batches the next incarnation rebuilds
// from this one's journals.
func (l *Ledger) SendsWith(tokenID string) {
	l.mu.Lock()
	same := l.journalTokenKnown && l.journalToken == tokenID
	l.token, l.tokenKnown = tokenID, true
	l.mu.Unlock()
	if l.dir == "" || same {
		return
	}
	// Once a start: a batch is sent only after this, so a journal's usage
	// that may have reached home was admitted under the token written.
	if err := atomicfile.Write(filepath.Join(l.dir, sendsWithFile), []byte(tokenID), 0o600); err != nil {
		l.log.Warn().Err(err).Msg("usage spool: the join token is not recorded; batches the next start rebuilds " +
			"from this run's journals will name the bootstrap token's space (check the cache dir is writable)")
	}
}

// readSendsWith reads sendsWithFile: the token the previous incarnation
// sent with, and whether one is known.
func readSendsWith(dir string) (string, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, sendsWithFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if tok := string(b); tok == "" || jointoken.CheckID(tok) == nil {
		return tok, true, nil
	}
	return "", false, fmt.Errorf("%s: not a join token id (8 lowercase hex digits, or empty for the bootstrap token)", sendsWithFile)
}

// journalSentWith is the SentWith of a batch rebuilt from a journal.
func (l *Ledger) journalSentWith() []string {
	if !l.journalTokenKnown {
		return nil
	}
	return []string{l.journalToken}
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
