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
)

// UsageBatch is usage one agent admitted for one service. An empty batch (no
// entries, still with an id) is allowed: agents poll the totals with it.
type UsageBatch struct {
	ID        string       `json:"id"` // unique forever: instance id + "-" + sequence
	Instance  string       `json:"instance"`
	ServiceID int64        `json:"service_id"`
	Entries   []UsageEntry `json:"entries"`
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
}

// UsageTotal is an application's usage of a metric in the period starting at Start.
type UsageTotal struct {
	ApplicationID int64     `json:"application_id"`
	MetricID      int64     `json:"metric_id"`
	Period        string    `json:"period"`
	Start         time.Time `json:"start"` // zero for eternity
	Value         int64     `json:"value"`
}
