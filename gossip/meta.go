package gossip

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// Roles a node plays.
const (
	RoleCoordinator = "coordinator"
	RoleAgent       = "agent"
)

// MaxMetaBytes is the largest encoded Meta memberlist carries
// (memberlist.MetaMaxSize).
const MaxMetaBytes = memberlist.MetaMaxSize

// Meta is what a node tells every other node about itself. It travels in
// memberlist's node metadata, so it must encode within MaxMetaBytes.
type Meta struct {
	Role       string `json:"r,omitempty"` // RoleCoordinator or RoleAgent
	Service    string `json:"s,omitempty"` // system name of the service the instance implements
	InstanceID string `json:"i,omitempty"`
	API        string `json:"a,omitempty"` // address where the node's API is reachable
	Revision   uint64 `json:"v,omitempty"` // composition revision the node serves
}

// wireMeta is Meta as it travels, with the flag Leave sets so that peers
// can tell a node that left from one that died: memberlist does not say
// (the State of the Node it hands to NotifyLeave is never set).
type wireMeta struct {
	Meta
	Leaving bool `json:"l,omitempty"`
}

// encodeMeta encodes m compactly, refusing an unknown role and anything over
// MaxMetaBytes.
func encodeMeta(m Meta) ([]byte, error) {
	switch m.Role {
	case "", RoleCoordinator, RoleAgent:
	default:
		return nil, fmt.Errorf("gossip metadata: role %q is neither %q nor %q", m.Role, RoleCoordinator, RoleAgent)
	}
	b, err := json.Marshal(wireMeta{Meta: m})
	if err != nil {
		return nil, fmt.Errorf("gossip metadata: %w", err)
	}
	if len(b) > MaxMetaBytes {
		return nil, fmt.Errorf("gossip metadata is %d bytes encoded, over memberlist's limit of %d bytes: shorten the service name, instance id or API address", len(b), MaxMetaBytes)
	}
	return b, nil
}

// encodeLeaving is m flagged as leaving, or nil when the flag does not fit.
func encodeLeaving(m Meta) []byte {
	b, err := json.Marshal(wireMeta{Meta: m, Leaving: true})
	if err != nil || len(b) > MaxMetaBytes {
		return nil
	}
	return b
}

// decodeMeta decodes a peer's metadata and its leaving flag; anything
// unreadable yields the zero Meta and ok false.
func decodeMeta(b []byte) (m Meta, leaving, ok bool) {
	if len(b) == 0 {
		return Meta{}, false, false
	}
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return Meta{}, false, false
	}
	return w.Meta, w.Leaving, true
}
