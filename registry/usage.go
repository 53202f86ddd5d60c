package registry

import (
	"time"
)

// The usage protocol: an agent reports the usage it admitted in batches with
// POST /v1/usage (its instance credential as Bearer); home applies each batch exactly once
// and answers with the cluster-wide totals, so agents enforce shared limits.

// Bounds of a usage batch.
const (
	MaxUsageBodyBytes = MaxBodyBytes * 16 // 1 MiB
	MaxUsageEntries   = 10000
	MaxBatchIDLen     = 256
	// MaxLimiterCounts bounds the limiter counts of a batch and of a reply;
	// MaxLimiterKeyLen the length of one's key.
	MaxLimiterCounts = 10000
	MaxLimiterKeyLen = 256
	// MaxSentWith bounds a batch's SentWith.
	MaxSentWith = 8
)

// UsageBatch is usage one agent admitted for one service. An empty batch (no
// entries, still with an id) is allowed: agents poll the totals with it.
type UsageBatch struct {
	ID        string       `json:"id"` // unique forever: instance id + "-" + sequence
	Instance  string       `json:"instance"`
	ServiceID int64        `json:"service_id"`
	Entries   []UsageEntry `json:"entries"`
	// Limiters are the requests the agent counted for rate limits kept
	// cluster-wide (the rate_limit policy's global fixed windows) since its
	// last batch. Absent from older agents; older homes ignore them.
	Limiters []LimiterCount `json:"limiters,omitempty"`
	// SentWith names the join tokens (by id; "" is the bootstrap token)
	// within whose batch id space home may have applied the batch already:
	// the one it was cut under and each one it was sent with, by this agent
	// or by an earlier incarnation on the same cache dir registered with
	// another token (the token was rotated). Home takes the batch for a
	// duplicate when any of them applied its id, and records it within the
	// sender's own token alone, so naming another's token can keep only the
	// sender's own usage from counting. At most MaxSentWith. Absent from
	// older agents; older homes ignore it.
	SentWith []string `json:"sent_with,omitempty"`
}

// UsageEntry is usage of one application's metric within one minute.
type UsageEntry struct {
	ApplicationID int64 `json:"application_id"`
	MetricID      int64 `json:"metric_id"`
	Minute        int64 `json:"minute"` // unix seconds / 60 of when the requests were admitted
	Delta         int64 `json:"delta"`
}

// UsageReply answers a usage batch.
type UsageReply struct {
	// Duplicate: the batch id was already counted and nothing was added.
	Duplicate bool `json:"duplicate"`
	// Totals after this batch: current-period totals of every limited metric of
	// every application of the batch's service with non-zero usage.
	Totals []UsageTotal `json:"totals"`
	// Limiters are the cluster's counts of the service's rate limit windows
	// that have not ended, after this batch; always present (maybe empty)
	// from a home that counts them. Absent from older homes: the agent then
	// counts its own requests only.
	Limiters []LimiterCount `json:"limiters"`
}

// LimiterCount is a rate limit's count of requests under Key in the fixed
// window [Start, Start+Window) (unix seconds): the agent's increment in a
// batch (negative when it took back requests another limit refused), the
// cluster's total in a reply.
type LimiterCount struct {
	Key    string `json:"key"`
	Start  int64  `json:"start"`
	Window int64  `json:"window"`
	Value  int64  `json:"value"`
}

// UsageTotal is an application's usage of a metric in the period starting at Start.
type UsageTotal struct {
	ApplicationID int64     `json:"application_id"`
	MetricID      int64     `json:"metric_id"`
	Period        string    `json:"period"`
	Start         time.Time `json:"start"` // zero for eternity
	Value         int64     `json:"value"`
}
