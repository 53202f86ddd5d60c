package gossip

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultMaxMembers bounds the live members a node takes when
// Config.MaxMembers is zero: room for home's default instance limit
// (--max-instances, 10,000) and then some.
const DefaultMaxMembers = 16384

// capWarnEvery is how often a node at its member limit says so.
const capWarnEvery = time.Minute

// maxMembers is the node's member limit.
func (c *Config) maxMembers() (int, error) {
	switch {
	case c.MaxMembers < 0:
		return 0, fmt.Errorf("gossip member limit %d is negative", c.MaxMembers)
	case c.MaxMembers == 0:
		return DefaultMaxMembers, nil
	}
	return c.MaxMembers, nil
}

// NotifyAlive implements memberlist.AliveDelegate: memberlist asks before it
// takes any node as alive, from gossip, push/pull or a join. Every keyring
// holder can make up alive messages for as many names as it likes, each of
// which every node would keep (and gossip on) until failure detection,
// probing one node a second, got round to it: so a node the member table
// does not hold is refused once the table is full. Members already held
// are taken as ever (their refutations and metadata updates).
func (e *events) NotifyAlive(node *memberlist.Node) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.members[node.Name]; ok || len(e.members) < e.max {
		return nil
	}
	if now := time.Now(); now.Sub(e.capWarned) >= capWarnEvery {
		e.capWarned = now
		e.n.log.Warn().Int("limit", e.max).Str("refused", node.Name).
			Msg("gossip: member limit reached; new nodes are refused until members leave (a keyring holder making up nodes, or a cluster larger than the limit: raise it)")
	}
	return fmt.Errorf("gossip member limit of %d reached", e.max)
}
