package threescale

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/portolan/portolan/composition"
)

// apisonator's extensions, asked for in the 3scale-options header: flat_usage
// (read by usageOf's callers), rejection_reason_header and limit_headers.

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

// writeOptionHeaders honours the extensions rejection_reason_header=1 and
// limit_headers=1.
func (sm *ServiceManagement) writeOptionHeaders(w http.ResponseWriter, opts url.Values, denial *composition.Denial,
	reports []composition.UsageReport, now time.Time) {
	if len(opts) == 0 {
		return
	}
	h := w.Header()
	if denial != nil && isTrue(opts.Get("rejection_reason_header")) {
		h.Set("3scale-rejection-reason", denial.Code)
	}
	if isTrue(opts.Get("limit_headers")) {
		remaining, reset, max := limitHeaders(reports, now)
		h.Set("3scale-limit-remaining", strconv.FormatInt(remaining, 10))
		h.Set("3scale-limit-reset", strconv.FormatInt(reset, 10))
		h.Set("3scale-limit-max-value", strconv.FormatInt(max, 10))
	}
}

func isTrue(v string) bool { return v == "1" || v == "true" }

// limitHeaders picks the most constraining limit among those the usage names
// (all of them without usage): how many more calls with the same usage fit,
// seconds until its period ends (-1 for eternity), and its max value. With no
// limit all three are -1.
func limitHeaders(reports []composition.UsageReport, now time.Time) (remaining, reset, max int64) {
	remaining, reset, max = -1, -1, -1
	named := false
	for _, r := range reports {
		named = named || r.Usage > 0
	}
	for _, r := range reports {
		if named && r.Usage == 0 {
			continue
		}
		left := r.Max - composition.AddSaturating(r.Current, r.Usage)
		if r.Usage > 0 {
			left /= r.Usage
		}
		left = maxInt64(left, 0)
		if remaining >= 0 && left >= remaining {
			continue
		}
		remaining, max, reset = left, r.Max, -1
		if !r.End.IsZero() {
			reset = int64((r.End.Sub(now) + time.Second - 1) / time.Second)
		}
	}
	return remaining, reset, max
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
