package registry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Instance statuses.
const (
	StatusPassing  = "passing"
	StatusWarning  = "warning"
	StatusCritical = "critical"
	StatusDraining = "draining"
)

// Duration is a time.Duration written as a Go duration string ("2s") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string ("2s") or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"2s\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Registration is the body of PUT /v1/instances/{id}.
type Registration struct {
	// Service is the system_name of the service the container implements.
	Service      string            `json:"service"`
	Address      string            `json:"address"`
	Port         int               `json:"port"`
	Labels       map[string]string `json:"labels,omitempty"`
	Hostname     string            `json:"hostname,omitempty"`
	AgentVersion string            `json:"agent_version,omitempty"`
	// Check describes the health check the agent runs ("http GET URL", "tcp ADDR", "exec CMD"), if any.
	Check  string `json:"check,omitempty"`
	Status string `json:"status,omitempty"` // initial status; passing when empty
	Output string `json:"output,omitempty"`
	// TTL the agent asks for; home may bound it.
	TTL Duration `json:"ttl,omitempty"`
}

// PlanRef names an application plan.
type PlanRef struct {
	ID         int64  `json:"id"`
	SystemName string `json:"system_name"`
	Name       string `json:"name"`
}

// Placement tells an instance where in the composition it serves.
type Placement struct {
	// Service is the system_name of the 3scale service the instance serves;
	// empty when the composition has no such service yet.
	Service   string `json:"service,omitempty"`
	ServiceID int64  `json:"service_id,omitempty"`
	// Plans the instance serves.
	Plans []PlanRef `json:"plans"`
	// Placements are the names of the placements that picked the instance;
	// none when it serves its service by default.
	Placements []string `json:"placements,omitempty"`
	// Revision of the composition the placement was computed from.
	Revision uint64 `json:"revision"`
}

// RegisterReply answers a registration.
type RegisterReply struct {
	ID                      string    `json:"id"`
	Placement               Placement `json:"placement"`
	Revision                uint64    `json:"revision"`
	HeartbeatInterval       Duration  `json:"heartbeat_interval"`
	TTL                     Duration  `json:"ttl"`
	DeregisterCriticalAfter Duration  `json:"deregister_critical_after"`
	// Credential is the instance's own secret, issued at registration and
	// returned only here: every later call of this incarnation presents it
	// (Authorization: Bearer). Home keeps only its hash.
	Credential string `json:"credential,omitempty"`
	// SigningKey is home's Ed25519 public key (pki.EncodePublicKey): the agent
	// accepts a composition, from home, gossip or its cache, only when it
	// verifies under this key.
	SigningKey string `json:"signing_key,omitempty"`
	// GossipKeys is the gossip keyring, base64, the primary (encrypting) key
	// first; sent only over an authenticated channel.
	GossipKeys []string `json:"gossip_keys,omitempty"`
	// GossipKeysVersion is the version of GossipKeys: the agent names it in
	// its heartbeats (Heartbeat.GossipKeysVersion). Absent from a home that
	// predates it.
	GossipKeysVersion uint64 `json:"gossip_keys_version,omitempty"`
	// ViewKey is the key, base64, the agent seals its view with on gossip:
	// one per service, so only agents placed in it read it (see viewkey.go).
	// Sent only over the agent API.
	ViewKey string `json:"view_key,omitempty"`
}

// Heartbeat is the body of PUT /v1/instances/{id}/heartbeat.
type Heartbeat struct {
	Status string `json:"status"`
	Output string `json:"output,omitempty"`
	// Revision is the newest composition revision the agent has seen.
	Revision uint64 `json:"revision"`
	// GossipKeysVersion is the version of home's gossip keyring the agent
	// holds (the last GossipKeysVersion of a reply it took): home hands the
	// keyring again until the agent names its current version, and holds a
	// rotation's next step until the agents that name one hold the step
	// before. Zero from an agent that predates it, or was handed no
	// version: home then hands each version once. Sent only when not zero,
	// as a home that predates it refuses unknown fields.
	GossipKeysVersion uint64 `json:"gossip_keys_version,omitempty"`
}

// HeartbeatReply answers a heartbeat: the current revision, and the placement
// when it changed since the instance last heard it.
type HeartbeatReply struct {
	Revision  uint64     `json:"revision"`
	Placement *Placement `json:"placement,omitempty"`
	// GossipKeys is the keyring when it changed since the instance last heard
	// it (a rotation), primary first.
	GossipKeys []string `json:"gossip_keys,omitempty"`
	// GossipKeysVersion is the version of GossipKeys, with them.
	GossipKeysVersion uint64 `json:"gossip_keys_version,omitempty"`
	// ViewKey comes with a changed Placement: the view key of the service
	// the instance is now placed in (RegisterReply.ViewKey).
	ViewKey string `json:"view_key,omitempty"`
}

// MaxBodyBytes bounds every request body of the agent API.
const MaxBodyBytes = 64 << 10

// Limits on what an instance may send. MaxLabelBytes bounds its labels'
// keys and values together: 64 labels of 256-byte keys and values would be
// 32 KiB an instance, held by home and sent in every map answer to every
// agent, where a few short labels are what placement needs.
const (
	MaxIDLen      = 128
	MaxLabels     = 64
	MaxLabelLen   = 256
	MaxLabelBytes = 4096
	MaxOutputLen  = 4096
)
