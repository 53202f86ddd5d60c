package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
)

// maxFutureMinute bounds how far ahead of home's clock a batch's minutes may
// be (agents' clocks drift).
const maxFutureMinute = time.Hour

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

// usageHandler serves POST /v1/usage with the agent API's token check.
func (c *Coordinator) usageHandler() http.Handler {
	return registry.RequireAgentToken(c.cfg.AgentToken, http.HandlerFunc(c.serveUsage))
}

// serveUsage applies a usage batch exactly once and answers with the
// service's current totals (registry.UsageReply).
func (c *Coordinator) serveUsage(w http.ResponseWriter, r *http.Request) {
	var batch registry.UsageBatch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, registry.MaxUsageBodyBytes))
	if err := dec.Decode(&batch); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			usageError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("usage batch exceeds %d bytes", registry.MaxUsageBodyBytes))
			return
		}
		usageError(w, http.StatusBadRequest, "usage batch is not valid JSON: "+err.Error())
		return
	}
	now := time.Now()
	snap := c.store.Snapshot()
	incs, err := validateBatch(snap, &batch, now)
	if err != nil {
		usageError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	dup, err := c.usage.apply(r.Context(), batch.ID, batch.ServiceID, incs, now)
	if err != nil {
		c.cfg.Logger.Error().Err(err).Str("batch", batch.ID).Msg("usage batch not stored")
		usageError(w, http.StatusServiceUnavailable, "usage batch not stored, send it again: "+err.Error())
		return
	}
	result := "applied"
	if dup {
		result = "duplicate"
	}
	c.usageBatches.WithLabelValues(result).Inc()
	httpjson.Write(w, http.StatusOK, registry.UsageReply{Duplicate: dup, Totals: limitedTotals(snap, c.usage.totals(batch.ServiceID, now))})
}

func usageError(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]string{"error": msg})
}

// validateBatch checks a batch against the composition and turns it into
// increments. Every problem names the entry and the id at fault.
func validateBatch(snap *composition.Snapshot, b *registry.UsageBatch, now time.Time) ([]usageInc, error) {
	switch {
	case b.ID == "":
		return nil, errors.New("id: a usage batch needs an id")
	case len(b.ID) > registry.MaxBatchIDLen:
		return nil, fmt.Errorf("id: longer than %d bytes", registry.MaxBatchIDLen)
	case len(b.Entries) > registry.MaxUsageEntries:
		return nil, fmt.Errorf("entries: more than %d", registry.MaxUsageEntries)
	}
	if _, ok := snap.Services.Get(b.ServiceID); !ok {
		return nil, fmt.Errorf("service_id: unknown service %d", b.ServiceID)
	}
	var metrics map[int64]*composition.Metric
	oldest, newest := now.Add(-BatchRetention).Unix()/60, now.Add(maxFutureMinute).Unix()/60
	incs := make([]usageInc, 0, len(b.Entries))
	for i, e := range b.Entries {
		app, ok := snap.Applications.Get(e.ApplicationID)
		if !ok || app.ServiceID != b.ServiceID {
			return nil, fmt.Errorf("entries[%d]: unknown application %d of service %d", i, e.ApplicationID, b.ServiceID)
		}
		if metrics == nil {
			metrics = snap.ServiceMetricIDs(b.ServiceID)
		}
		if _, ok := metrics[e.MetricID]; !ok {
			return nil, fmt.Errorf("entries[%d]: unknown metric %d of service %d", i, e.MetricID, b.ServiceID)
		}
		if e.Delta < 0 {
			return nil, fmt.Errorf("entries[%d]: negative delta %d", i, e.Delta)
		}
		if e.Minute < oldest || e.Minute > newest {
			return nil, fmt.Errorf("entries[%d]: minute %d is not within %s before and %s after home's clock",
				i, e.Minute, BatchRetention, maxFutureMinute)
		}
		if e.Delta > 0 {
			incs = append(incs, usageInc{app: e.ApplicationID, metric: e.MetricID, minute: e.Minute, delta: e.Delta})
		}
	}
	return incs, nil
}

// limitedTotals keeps the totals of metrics and periods the application's
// plan limits.
func limitedTotals(snap *composition.Snapshot, totals []registry.UsageTotal) []registry.UsageTotal {
	type limitKey struct {
		plan, metric int64
		period       string
	}
	if len(totals) == 0 {
		return []registry.UsageTotal{}
	}
	limited := map[limitKey]bool{}
	for _, l := range snap.UsageLimits.All() {
		limited[limitKey{l.PlanID, l.MetricID, l.Period}] = true
	}
	out := totals[:0]
	for _, t := range totals {
		app, ok := snap.Applications.Get(t.ApplicationID)
		if ok && limited[limitKey{app.PlanID, t.MetricID, t.Period}] {
			out = append(out, t)
		}
	}
	return out
}

// closeUsage closes the usage store, logging a failure.
func (c *Coordinator) closeUsage() {
	if err := c.usage.Close(); err != nil {
		c.cfg.Logger.Error().Err(err).Msg("closing the usage store failed")
	}
}
