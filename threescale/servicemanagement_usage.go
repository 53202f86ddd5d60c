package threescale

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// rubySpace is what the \s of apisonator's usage value pattern matches.
const rubySpace = " \t\n\v\f\r"

// usageOf reads usage[metric]=n from params under prefix ("usage" or
// "transactions[0][usage]") into hits; a method's usage counts to its parent
// unless flat (apisonator's flat_usage extension: the client has done it).
//
// A value is apisonator's /\A\s*#?\d+\s*\z/. "#n" is a set value: in
// apisonator it sets the counter instead of adding to it. Portolan's
// counters are minute increments summed per period, so no one increment can
// set every period's counter: only authorize, which stores nothing, takes a
// set value (allowSet), as "would a counter of n be within the limits". The
// metrics set are returned in set, their hits holding n; a set wins over
// increments of the same metric, and reaches the parent, as in apisonator's
// Metric::Collection#process_parents.
func usageOf(snap *composition.Snapshot, serviceID int64, params url.Values, prefix string,
	flat, allowSet bool) (hits []composition.Hit, set []int64, e *smError) {
	names := usageNames(params, prefix)
	if len(names) > MaxUsageMetrics {
		return nil, nil, &smError{http.StatusBadRequest, "bad_request", fmt.Sprintf("usage names more than %d metrics", MaxUsageMetrics)}
	}
	var metrics metricNames
	for _, name := range names {
		metric := metrics.lookup(snap, serviceID, name)
		if metric == nil {
			return nil, nil, metricInvalid(name)
		}
		raw := params.Get(prefix + "[" + name + "]")
		n, isSet, e := usageValue(raw, name)
		if e != nil {
			return nil, nil, e
		}
		if isSet && !allowSet {
			return nil, nil, &smError{http.StatusForbidden, "usage_value_invalid", fmt.Sprintf(
				"usage value %q for metric %q is a set value (#N): set values are supported by authorize only, not on reports (authrep, report)",
				clip(raw), clip(name))}
		}
		ids := [2]int64{metric.ID, 0}
		if metric.ParentID != 0 && !flat {
			ids[1] = metric.ParentID
		}
		for _, id := range ids {
			switch {
			case id == 0:
			case isSet:
				hits = setUsage(hits, id, n)
				if !slices.Contains(set, id) {
					set = append(set, id)
				}
			case !slices.Contains(set, id):
				hits = composition.AddHit(hits, id, n)
			}
		}
	}
	return hits, set, nil
}

// usageNames returns the metric names of usage[metric]=n under prefix,
// sorted.
func usageNames(params url.Values, prefix string) []string {
	names := make([]string, 0, 4)
	for k := range params {
		if name, ok := strings.CutPrefix(k, prefix+"["); ok && strings.HasSuffix(name, "]") {
			names = append(names, strings.TrimSuffix(name, "]"))
		}
	}
	sort.Strings(names)
	return names
}

// unknownMetricError is apisonator's MetricInvalid for the first name of the
// usage under prefix that names no metric of the service, nil when all do.
// It reads no value: apisonator's no_body preload
// (Application#load_usage_limits_affected_by) looks the names up before
// any validator runs, and so before any value is read.
func unknownMetricError(snap *composition.Snapshot, serviceID int64, params url.Values, prefix string) *smError {
	var metrics metricNames
	for _, name := range usageNames(params, prefix) {
		if metrics.lookup(snap, serviceID, name) == nil {
			return metricInvalid(name)
		}
	}
	return nil
}

func metricInvalid(name string) *smError {
	return &smError{http.StatusNotFound, "metric_invalid", fmt.Sprintf("metric %q is invalid", clip(name))}
}

// usageValue parses a usage value as apisonator's Metric::Collection
// sane_value? accepts it, /\A\s*#?\d+\s*\z/, within Portolan's bound on a
// delta; isSet when it is "#n".
func usageValue(raw, metric string) (n int64, isSet bool, e *smError) {
	v := strings.Trim(raw, rubySpace)
	v, isSet = strings.CutPrefix(v, "#")
	digits := v != "" && strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) < 0
	if digits {
		var err error
		n, err = strconv.ParseInt(v, 10, 64)
		digits = err == nil && n <= composition.MaxUsageDelta
	}
	switch {
	case digits:
		return n, isSet, nil
	case strings.Trim(raw, rubySpace) == "":
		return 0, false, &smError{http.StatusForbidden, "usage_value_invalid",
			fmt.Sprintf("usage value for metric %q can not be empty", clip(metric))}
	}
	return 0, false, &smError{http.StatusForbidden, "usage_value_invalid",
		fmt.Sprintf("usage value %q for metric %q is invalid", clip(raw), clip(metric))}
}

// metricNames finds a product's metrics by system name in the order the
// gateway resolves a policy's metric (agent/gateway/usage.go): the
// product's own first, then each backend's in the order of its backend
// usages' ids; the first with the name wins. System names are unique per
// owner only, so two backends may both have a "search": the answer must
// not depend on map order. A name no metric has as its system name may be
// porta's extended name of a backend's metric, "search.42" (42 the
// backend): the name porta's proxy configuration gives stock APIcast for a
// backend's mapping rules (proxyconfig_content.go) and apisonator knows the
// metric by, so APIcast reports usage under it. The list is built on the
// first lookup.
type metricNames struct {
	built   bool
	ordered []*composition.Metric
}

func (m *metricNames) lookup(snap *composition.Snapshot, serviceID int64, name string) *composition.Metric {
	if !m.built {
		m.built = true
		m.ordered = snap.MetricsOf(composition.OwnerService, serviceID)
		for _, u := range snap.BackendUsages.Under(serviceID) {
			m.ordered = append(m.ordered, snap.MetricsOf(composition.OwnerBackendAPI, u.BackendAPIID)...)
		}
	}
	for _, metric := range m.ordered {
		if metric.SystemName == name {
			return metric
		}
	}
	for _, metric := range m.ordered {
		if metric.OwnerType == composition.OwnerBackendAPI && extendedName(metric) == name {
			return metric
		}
	}
	return nil
}

// backendMetricNames names the backends' metrics in reports as apisonator
// knows them, by their extended names ("search.20"): a product using two
// backends that both have a "search" then answers two usage reports a
// client can tell apart, under the names it reports usage by.
func backendMetricNames(snap *composition.Snapshot, reports []composition.UsageReport) {
	for i := range reports {
		if m, ok := snap.Metrics.Get(reports[i].MetricID); ok && m.OwnerType == composition.OwnerBackendAPI {
			reports[i].Metric = extendedName(m)
		}
	}
}

// extendedName is porta's name of a backend's metric towards the gateway
// and apisonator: "<system_name>.<backend id>".
func extendedName(m *composition.Metric) string {
	return m.SystemName + "." + strconv.FormatInt(m.OwnerID, 10)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// setUsage makes metricID's hit n, whatever was added to it before.
func setUsage(hits []composition.Hit, metricID, n int64) []composition.Hit {
	for i := range hits {
		if hits[i].MetricID == metricID {
			hits[i].Delta = n
			return hits
		}
	}
	return append(hits, composition.Hit{MetricID: metricID, Delta: n})
}

// setCounter returns current, but 0 for the metrics set: CheckLimits then
// predicts n, the value set, instead of current plus n.
func setCounter(current composition.Counter, set []int64) composition.Counter {
	if len(set) == 0 {
		return current
	}
	return func(appID, metricID int64, period string, start time.Time) int64 {
		if slices.Contains(set, metricID) {
			return 0
		}
		return current(appID, metricID, period, start)
	}
}

// storedCurrent puts back the stored value of the metrics set in reports,
// where setCounter had them 0: authorize shows the stored values. Their
// usage stays n, the value set, as apisonator's UsageReport#compute_usage
// reads "#n" for the limit headers' calls left.
func storedCurrent(reports []composition.UsageReport, set []int64, appID int64, current composition.Counter) {
	for i := range reports {
		if r := &reports[i]; slices.Contains(set, r.MetricID) {
			r.Current = current(appID, r.MetricID, r.Period, r.Start)
		}
	}
}
