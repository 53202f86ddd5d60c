package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
	"github.com/portolan/portolan/usage"
)

// newUsageMetrics counts usage batches by outcome, both present from the start.
func newUsageMetrics() *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portolan_usage_batches_total",
		Help: "Usage batches from agents, by result: applied, or duplicate (already counted).",
	}, []string{"result"})
	v.WithLabelValues("applied")
	v.WithLabelValues("duplicate")
	return v
}

// usageHandler serves POST /v1/usage to instances with their credential.
func (c *Coordinator) usageHandler() http.Handler {
	return c.instances.RequireInstance(c.agentAccess(), http.HandlerFunc(c.serveUsage))
}

// serveUsage applies a usage batch exactly once and answers with the
// service's current totals (registry.UsageReply). Entries of applications or
// metrics deleted since the agent counted them are skipped and logged, not
// refused: the rest of the batch counts (usage.ValidateBatch).
func (c *Coordinator) serveUsage(w http.ResponseWriter, r *http.Request) {
	var batch registry.UsageBatch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, registry.MaxUsageBodyBytes))
	if err := dec.Decode(&batch); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("usage batch exceeds %d bytes", registry.MaxUsageBodyBytes))
			return
		}
		httpjson.Error(w, http.StatusBadRequest, "usage batch is not valid JSON: "+err.Error())
		return
	}
	now := time.Now()
	snap := c.store.Snapshot()
	// Only a registered instance reports usage, and only for the service it
	// is placed in (403: the agent keeps the batch and registers again). The
	// instance is the credential's, whatever the batch claims: a batch
	// spooled by an earlier incarnation on the same cache dir names that
	// one, and counts for the service the sender is placed in, or not at all.
	// This is checked before the entries are: their errors would tell an
	// instance which applications another service has. A service that no
	// longer exists is left to ValidateBatch (422: the agent sets the batch
	// aside rather than holding it forever).
	self, _ := registry.InstanceOf(r.Context())
	if _, known := snap.Services.Get(batch.ServiceID); known {
		if svc, ok := c.instances.PlacedIn(self); !ok {
			httpjson.Error(w, http.StatusForbidden, fmt.Sprintf("instance %q is not placed in any service: usage is accepted only from instances placed in its service", self))
			return
		} else if svc != batch.ServiceID {
			httpjson.Error(w, http.StatusForbidden, fmt.Sprintf("instance %q is placed in service %d, not %d: it reports usage for its own service only", self, svc, batch.ServiceID))
			return
		}
	}
	incs, skipped, err := usage.ValidateBatch(snap, &batch, now)
	if err == nil {
		err = checkBatchID(&batch)
	}
	if err != nil {
		httpjson.Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	tokenID, ok := c.instances.JoinTokenOf(self)
	if !ok {
		httpjson.Error(w, http.StatusNotFound, registry.ErrUnknown.Error())
		return
	}
	// A poll (nothing to count) is answered without a write: an id kept
	// for it would cost home a log record and BatchRetention of storage for
	// every agent's every second.
	var dup bool
	if len(incs) > 0 || len(batch.Limiters) > 0 {
		dup, err = c.appliedBefore(tokenID, &batch)
		if err == nil && !dup {
			dup, err = c.usage.Apply(r.Context(), batchKey(tokenID, batch.ID), batch.ServiceID, incs, now)
		}
	}
	if err != nil {
		c.cfg.Logger.Error().Err(err).Str("batch", batch.ID).Msg("usage batch not stored")
		httpjson.Error(w, http.StatusServiceUnavailable, "usage batch not stored, send it again: "+err.Error())
		return
	}
	result := "applied"
	if dup {
		result = "duplicate"
	} else {
		// Counts only: an entry's ids say nothing once deleted. Logged
		// once, when the batch is applied; a resend is a duplicate.
		if skipped.Deleted() > 0 {
			c.cfg.Logger.Warn().Str("batch", batch.ID).Int64("service", batch.ServiceID).
				Int("deleted_applications", skipped.Applications).Int("deleted_metrics", skipped.Metrics).
				Msg("usage batch: entries of deleted applications or metrics skipped")
		}
		if skipped.Minutes > 0 {
			c.cfg.Logger.Warn().Str("batch", batch.ID).Str("instance", self).Int64("service", batch.ServiceID).
				Int("entries", skipped.Minutes).Dur("before", usage.BatchRetention).Dur("after", usage.MaxFutureMinute).
				Msg("usage batch: entries counted at minutes outside home's window skipped: is the instance's clock right?")
		}
		c.alerts.CountedIncrements(batch.ServiceID, incs, now)
		c.limiters.add(batch.ServiceID, batch.Limiters, now)
	}
	c.usageBatches.WithLabelValues(result).Inc()
	// The totals of the periods the batch counted in that are not home's
	// current ones (its agent's clock is ahead or behind): without them the
	// agent would forget the usage home just acknowledged.
	totals := c.usage.Totals(batch.ServiceID, now)
	drift, err := c.usage.DriftTotals(incs, now)
	if err != nil {
		c.cfg.Logger.Error().Err(err).Str("batch", batch.ID).Msg("usage reply without the totals of ended periods")
	}
	totals = append(totals, drift...)
	httpjson.Write(w, http.StatusOK, registry.UsageReply{Duplicate: dup,
		Totals:   usage.ReplyTotals(usage.LimitedTotals(snap, totals), &batch),
		Limiters: c.limiters.totals(batch.ServiceID, now)})
}

// usageCounters is the usage store as the Service Management and Analytics
// APIs use it (threescale.UsageCounters): usage imports nothing of threescale.
// What it counts is passed on to alerts.
type usageCounters struct {
	*usage.Store
	alerts *usage.Alerts
}

// Add adds a report's usage, each increment in the minute of its time.
func (u usageCounters) Add(ctx context.Context, serviceID int64, incs []threescale.UsageIncrement) error {
	out := make([]usage.Increment, 0, len(incs))
	for _, in := range incs {
		out = append(out, usage.Increment{App: in.ApplicationID, Metric: in.MetricID, Minute: in.At.Unix() / 60, Delta: in.Delta})
	}
	if err := u.Store.Add(ctx, serviceID, out); err != nil {
		return err
	}
	u.alerts.CountedIncrements(serviceID, out, time.Now())
	return nil
}

// Admit admits usage as usage.Store.Admit does, then tells alerts.
func (u usageCounters) Admit(ctx context.Context, serviceID, appID int64, hits []composition.Hit, now time.Time,
	decide func(current composition.Counter) bool) (bool, error) {
	ok, err := u.Store.Admit(ctx, serviceID, appID, hits, now, decide)
	if ok && err == nil && hasUsage(hits) {
		u.alerts.Counted(serviceID, appID, now)
	}
	return ok, err
}

// Values reads an application's or a service's committed counters.
func (u usageCounters) Values(scope threescale.Scope, id, metricID int64, period string, starts []time.Time) ([]int64, error) {
	if scope == threescale.ScopeService {
		return u.ServiceValues(id, metricID, period, starts)
	}
	return u.AppValues(id, metricID, period, starts)
}

// startUsageShare starts sharing usage, and the counts of global rate
// limit windows, through the configured Consul; stop ends it after a last
// publish.
func (c *Coordinator) startUsageShare() (stop func(), err error) {
	id, err := loadCoordinatorID(c.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	client, err := c.cfg.Consul.client()
	if err != nil {
		return nil, err
	}
	prefix := c.cfg.Consul.Prefix // a folder, never empty: New resolved it (ConsulPrefix)
	cfg := usage.SharingConfig{KV: client.KV(), Prefix: prefix, ID: id,
		Logger: c.cfg.Logger.With().Str("component", "usageshare").Logger()}
	share := usage.StartSharing(c.usage, cfg)
	limiters := usage.StartSharingOf(limiterShare{&c.limiters}, "limiters", cfg)
	return func() { share.Stop(); limiters.Stop() }, nil
}

// closeUsage closes the usage store, logging a failure.
func (c *Coordinator) closeUsage() {
	if err := c.usage.Close(); err != nil {
		c.cfg.Logger.Error().Err(err).Msg("closing the usage store failed")
	}
}
