package threescale

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/portolan/portolan/composition"
)

// apisonator's extensions, asked for in the 3scale-options header: flat_usage
// (read by usageOf's callers), rejection_reason_header, limit_headers and
// no_body.

// smOptions reads apisonator's extensions from the 3scale-options header
// (a query string: flat_usage=1&limit_headers=1).
func smOptions(r *http.Request) url.Values {
	raw := r.Header.Get("3scale-options")
	if raw == "" {
		return nil
	}
	opts, _ := url.ParseQuery(raw)
	return opts
}

// noBody reports whether the call asked for apisonator's no_body extension:
// an authorization answered by its status and headers alone, as stock
// APIcast asks on every authrep. As apisonator, it comes from the
// 3scale-options header or, deprecated, the no_body query parameter, and
// any value but "0" or "false" enables it.
func noBody(opts, params url.Values) bool {
	v, ok := opts["no_body"]
	if !ok {
		v, ok = params["no_body"]
	}
	if !ok || len(v) == 0 {
		return false
	}
	return v[0] != "0" && v[0] != "false"
}

// writeOptionHeaders honours the extensions rejection_reason_header=1 and
// limit_headers=1; as apisonator, the limit headers come with an authorized
// call or one refused for its limits, never with another refusal.
func (sm *ServiceManagement) writeOptionHeaders(w http.ResponseWriter, opts url.Values, denial *composition.Denial,
	reports []composition.UsageReport, now time.Time) {
	if len(opts) == 0 {
		return
	}
	h := w.Header()
	if denial != nil && isTrue(opts.Get("rejection_reason_header")) {
		h.Set("3scale-rejection-reason", denial.Code)
	}
	if isTrue(opts.Get("limit_headers")) && (denial == nil || denial.Code == composition.DenialLimitsExceeded) {
		remaining, reset, max := limitHeaders(reports, now)
		h.Set("3scale-limit-remaining", strconv.FormatInt(remaining, 10))
		h.Set("3scale-limit-reset", strconv.FormatInt(reset, 10))
		h.Set("3scale-limit-max-value", strconv.FormatInt(max, 10))
	}
}

func isTrue(v string) bool { return v == "1" || v == "true" }

// limitHeaders picks the most constraining limit among those the usage names
// (all of them without usage): how many more calls with the same usage fit,
// seconds until its period ends (-1 for eternity), and its max value. Of
// limits leaving as many calls, the longest period wins, as in apisonator
// (a client waiting for the reset must not come back before the longer
// limit frees a call). With no limit all three are -1.
func limitHeaders(reports []composition.UsageReport, now time.Time) (remaining, reset, max int64) {
	remaining, reset, max = -1, -1, -1
	named := false
	for _, r := range reports {
		named = named || r.Usage > 0
	}
	period := ""
	for _, r := range reports {
		if named && r.Usage == 0 {
			continue
		}
		left := r.Max - composition.AddSaturating(r.Current, r.Usage)
		if r.Usage > 0 {
			left /= r.Usage
		}
		left = maxInt64(left, 0)
		if remaining >= 0 && (left > remaining || left == remaining && !longerPeriod(r.Period, period)) {
			continue
		}
		remaining, max, reset, period = left, r.Max, -1, r.Period
		if !r.End.IsZero() {
			reset = int64((r.End.Sub(now) + time.Second - 1) / time.Second)
		}
	}
	return remaining, reset, max
}

// longerPeriod reports whether period a is longer than b.
func longerPeriod(a, b string) bool {
	return slices.Index(composition.Periods, a) > slices.Index(composition.Periods, b)
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
