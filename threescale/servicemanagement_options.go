package threescale

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// apisonator's extensions, asked for in the 3scale-options header: flat_usage
// (read by usageOf's callers), rejection_reason_header, limit_headers and
// no_body.

// smOptions reads apisonator's extensions from the 3scale-options header,
// a query string (flat_usage=1&limit_headers=1), as
// Listener.threescale_extensions does with Rack::Utils.parse_nested_query:
// a repeated option takes its last value (rackValue) and an option without
// "=" has none (Rack's nil), so it is as if not sent.
func smOptions(r *http.Request) url.Values {
	raw := r.Header.Get("3scale-options")
	if raw == "" {
		return nil
	}
	return rackOptions(raw)
}

// rackOptions parses a query string as smOptions describes; noBody reads
// the query's no_body with it too, as apisonator's params do.
func rackOptions(raw string) url.Values {
	opts := url.Values{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, hasValue := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k == "" {
			continue
		}
		if !hasValue {
			delete(opts, k) // nil, and the last
			continue
		}
		if v, err = url.QueryUnescape(v); err == nil {
			opts[k] = []string{v}
		}
	}
	return opts
}

// option reports whether extension name is on: apisonator compares its
// value with '1' (flat_usage, rejection_reason_header, limit_headers).
func option(opts url.Values, name string) bool { return opts.Get(name) == "1" }

// noBody reports whether the call asked for apisonator's no_body extension:
// an authorization answered by its status and headers alone, as stock
// APIcast asks on every authrep. As apisonator, it comes from the
// 3scale-options header or, deprecated, the no_body query parameter, and
// any value but "0" or "false" enables it.
func noBody(opts, params url.Values) bool {
	v, ok := opts["no_body"]
	if !ok {
		v = params["no_body"]
	}
	last, ok := rackValue(v)
	return ok && last != "0" && last != "false"
}

// writeOptionHeaders honours the extensions rejection_reason_header=1 and
// limit_headers=1; as apisonator, the limit headers come with an authorized
// call or one refused for its limits, never with another refusal. hits is
// the call's usage, added says it is in reports' current values (an
// authorized authrep).
func (sm *ServiceManagement) writeOptionHeaders(w http.ResponseWriter, opts url.Values, denial *composition.Denial,
	reports []composition.UsageReport, hits []composition.Hit, added bool, now time.Time) {
	if len(opts) == 0 {
		return
	}
	h := w.Header()
	if denial != nil && option(opts, "rejection_reason_header") {
		h.Set("3scale-rejection-reason", denial.Code)
	}
	if option(opts, "limit_headers") && (denial == nil || denial.Code == composition.DenialLimitsExceeded) {
		remaining, reset, max, constrained := limitHeaders(reports, hits, added, now)
		h.Set("3scale-limit-remaining", strconv.FormatInt(remaining, 10))
		h.Set("3scale-limit-reset", strconv.FormatInt(reset, 10))
		if constrained {
			h.Set("3scale-limit-max-value", strconv.FormatInt(max, 10))
		}
	}
}

// limitHeaders is apisonator's LimitHeaders.get: of the reports of the
// metrics the usage names (their parents are in hits too), or all of them
// without usage, the one leaving the fewest calls of the same usage, then
// the longest period (a client waiting for its reset must not come back
// while a longer limit still refuses). The calls left are (max - current)
// / usage, 0 when nothing is left, where current counts the call's usage
// only when added (UsageReport#compute_current_value: an authorize's
// predicted usage, and a refused call's, are not in it); a limit the usage
// adds nothing to leaves any number (apisonator's -1) and constrains
// nothing. The reset is the seconds to the end of the period, rounded up,
// -1 for eternity. When nothing constrains the call remaining and reset
// are -1 and constrained is false: apisonator sends no max value then.
func limitHeaders(reports []composition.UsageReport, hits []composition.Hit, added bool,
	now time.Time) (remaining, reset, max int64, constrained bool) {
	var most *composition.UsageReport
	for i := range reports {
		r := &reports[i]
		if len(hits) > 0 && !slices.ContainsFunc(hits, func(h composition.Hit) bool { return h.MetricID == r.MetricID }) {
			continue
		}
		current := r.Current
		if added {
			current = composition.AddSaturating(current, r.Usage)
		}
		left := r.Max - current
		var calls int64
		switch {
		case left <= 0:
		case r.Usage > 0:
			calls = left / r.Usage
		default:
			continue
		}
		if most != nil && (calls > remaining || calls == remaining && !longerPeriod(r.Period, most.Period)) {
			continue
		}
		most, remaining = r, calls
	}
	if most == nil {
		return -1, -1, 0, false
	}
	reset = -1
	if !most.End.IsZero() {
		reset = int64((most.End.Sub(now) + time.Second - 1) / time.Second)
	}
	return remaining, reset, most.Max, true
}

// longerPeriod reports whether period a is longer than b.
func longerPeriod(a, b string) bool {
	return slices.Index(composition.Periods, a) > slices.Index(composition.Periods, b)
}
