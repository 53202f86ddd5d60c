package composition

import "math"

// MaxUsageDelta is the most one report may add to one metric, as 3scale's
// authrep accepts: 2^40. Bounded deltas and saturating sums together keep
// every counter from wrapping negative, which would lift every limit.
const MaxUsageDelta = 1 << 40

// AddSaturating returns a+b, clamped to the int64 range instead of wrapping:
// every usage counter, at home and in the gateway, adds with it.
func AddSaturating(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}
