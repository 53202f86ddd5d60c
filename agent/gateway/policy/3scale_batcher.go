package policy

import (
	"encoding/json"
	"math"
	"time"
)

// threescaleBatcher is APIcast's 3scale_batcher: "This policy caches
// authorizations from the 3scale backend and reports them in batches. This
// is more efficient than authorizing and reporting on each request at the
// expense of losing accuracy in the rate limits." Its README: APIcast
// reuses a backend authorization of the same credentials and usage for
// auths_ttl seconds, and "there's a separate thread that reports to backend
// periodically", every batch_report_seconds, the usage it aggregated.
//
// An agent already works the way the policy makes APIcast work, without
// its loss of accuracy: it calls home for no authorization, and it reports
// usage to home aggregated (by application, metric and minute) in one
// batch a report interval. What each field does here:
//
//   - auths_ttl (seconds, default 10) bounds how long an authorization
//     may be reused. The gateway reuses none: each request is authorized
//     against the composition snapshot the agent holds and the usage
//     counted so far (its own at once, the other agents' through home's
//     totals), so a suspended application or a used-up limit is refused
//     from the next request on. Every auths_ttl is met; it is only checked:
//     an integer that is not negative (APIcast's shared dictionary fails
//     every request with a negative TTL; 0 is its "cache until evicted").
//   - batch_report_seconds (seconds, default 10) is how often the usage
//     goes to 3scale's backend. The agent serves one service and reports its
//     usage every --report-interval (1 s by default), so the bound holds
//     when that interval is no longer than batch_report_seconds: usage then
//     reaches home, its analytics and the other agents' limits no later
//     than APIcast's batches would reach its backend. A longer interval
//     cannot honour it, and the chain is refused naming the field and the
//     interval rather than report less often than configured. It must be at
//     least 1 (0 would be reporting continuously). While home is
//     unreachable the batches wait in the agent's spool, as APIcast's
//     failed reports wait for the next run.
//
// The policy takes part in no phase. Differences: APIcast's batcher
// authorizes at its own place in the chain's access phase, in the apicast
// policy's stead; here authorization stays the apicast element's, at its
// place. The README's trade-off ("going over the defined usage limits is
// easier") is not made: limits are enforced as without the policy. Its
// batching_policy_auths_cache_hits and _misses metrics are not exported,
// there being no cache of authorizations.
type threescaleBatcher struct{}

// maxBatchSeconds is the most seconds a time.Duration holds.
const maxBatchSeconds = int64(math.MaxInt64 / time.Second)

type threescaleBatcherConfig struct {
	AuthsTTL           *int64 `json:"auths_ttl"`
	BatchReportSeconds *int64 `json:"batch_report_seconds"`
}

func newThreescaleBatcher(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg threescaleBatcherConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if cfg.AuthsTTL != nil && *cfg.AuthsTTL < 0 {
		return nil, Invalid("auths_ttl", "must not be negative, not %d", *cfg.AuthsTTL)
	}
	batch := int64(10) // APIcast's default_batch_reports_seconds
	if cfg.BatchReportSeconds != nil {
		if batch = *cfg.BatchReportSeconds; batch < 1 {
			return nil, Invalid("batch_report_seconds", "must be at least 1 (seconds between usage reports), not %d", batch)
		}
	}
	// Home's check of a saved chain knows no agent's interval (0): each
	// agent checks its own when it loads the chain. Past maxBatchSeconds,
	// no interval is longer.
	if env.ReportInterval > 0 && batch < maxBatchSeconds && env.ReportInterval > time.Duration(batch)*time.Second {
		return nil, Invalid("batch_report_seconds",
			"%ds, but this agent reports usage to home every %s: lower its --report-interval to %ds or less, or raise batch_report_seconds",
			batch, env.ReportInterval, batch)
	}
	return threescaleBatcher{}, nil
}

func (threescaleBatcher) Name() string { return "3scale_batcher" }
