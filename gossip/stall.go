package gossip

import (
	"errors"
	"time"
)

// errNoAnswer is a document request that got no answer: not sent, or not
// answered in time.
var errNoAnswer = errors.New("no answer")

// A holder is whoever is said to serve a revision: any member can say so of
// itself, or of another (announcements are relayed), and the node asks the
// holder of the newest revision said first. One that does not answer at
// all (no answer in time, or no connection) is passed over for a while,
// whatever it is said to serve: else a member claiming the top revision
// and never answering would cost the node a fetch timeout on every round.
// Silence counts, which is the holder's own doing, and so does an answer
// that it holds the revision asked for but will not send it (too large for
// gossip, or not sealable with its keys): asked again at once, it would
// answer the same. Any other answer, even "nothing newer", is not held
// against it, since the claim it answers may have been another's to make.
// The pause doubles with each silence in a
// row, from stallMin up to stallMax, and ends when the holder delivers or
// leaves.
const (
	stallMin = 10 * time.Second
	stallMax = 5 * time.Minute
)

// stall is how long a holder is passed over, and how many times in a row it
// failed.
type stall struct {
	until time.Time
	fails int
}

// stallHolder passes holder over after it did not answer.
func (n *Node) stallHolder(holder string) {
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	s := n.dis.stalled[holder]
	wait := stallMin << min(s.fails, 5)
	n.dis.stalled[holder] = stall{until: time.Now().Add(min(wait, stallMax)), fails: s.fails + 1}
}

// unstallHolder forgets the failures of holder, which delivered.
func (n *Node) unstallHolder(holder string) {
	n.dis.mu.Lock()
	defer n.dis.mu.Unlock()
	delete(n.dis.stalled, holder)
}

// stalledLocked tells whether holder is passed over at now; dis.mu is held.
func (d *dissemination) stalledLocked(holder string, now time.Time) bool {
	s, ok := d.stalled[holder]
	return ok && now.Before(s.until)
}

// fetchWait is how long the node waits for a document it asked for.
func (n *Node) fetchWait() time.Duration {
	if n.cfg.fetchWait > 0 {
		return n.cfg.fetchWait
	}
	return fetchTimeout
}
