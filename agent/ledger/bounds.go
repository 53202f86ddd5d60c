package ledger

import (
	"fmt"
	"unicode/utf8"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// Bounds of one batch. Home refuses for good (413, 422) a batch of more
// than registry.MaxUsageBodyBytes of JSON, more than registry.MaxUsageEntries
// entries or registry.MaxLimiterCounts limiter counts, or an entry's delta
// over composition.MaxUsageDelta, and the agent sets a refused batch aside:
// the usage in it is lost. So the open batch is cut before it could break
// one: each entry and limiter count is counted at the most JSON it can
// encode to, a count over MaxUsageDelta is sent as several entries of the
// same key (home adds them up), and one request may add at most
// MaxUsageDelta to a metric, as home's authrep.
const (
	// entryJSONMax is the most JSON one entry encodes to: its four int64
	// of at most 20 characters each, its names and a comma.
	entryJSONMax = int64(len(`{"application_id":,"metric_id":,"minute":,"delta":},`) + 4*20)
	// limiterJSONFixed is the most JSON a limiter count encodes to, but
	// its key: its three int64, its names, the key's quotes and a comma.
	limiterJSONFixed = len(`{"key":"","start":,"window":,"value":},`) + 3*20
	// batchJSONReserve is room for the batch's own fields: its id and
	// instance (each at most 256 bytes, at most 6 bytes of JSON a byte),
	// service id and SentWith (registry.MaxSentWith join token ids).
	batchJSONReserve = 8 << 10
	// batchJSONTypical is what those fields usually take: ids of tens of
	// bytes, no more than a join token or two in SentWith.
	batchJSONTypical = 256
	// maxBatchJSON bounds the JSON of a batch's entries and limiter counts.
	maxBatchJSON = registry.MaxUsageBodyBytes - batchJSONReserve
	// maxOpenLimiters bounds the limiter counts of one batch: home reads
	// no more.
	maxOpenLimiters = registry.MaxLimiterCounts
)

// errDeltaOverBound is a request whose usage of one metric home would refuse.
var errDeltaOverBound = fmt.Errorf("usage of one request over %d for one metric: home refuses it", int64(composition.MaxUsageDelta))

// pieces is how many entries a count makes in a batch: each at most
// composition.MaxUsageDelta.
func pieces(v int64) int {
	if v <= 0 {
		return 0
	}
	return int((v-1)/composition.MaxUsageDelta) + 1
}

// fitsLocked reports whether the open batch has room for entries more
// entries and limiterBytes more JSON of limiter counts.
func (l *Ledger) fitsLocked(entries int, limiterBytes int64) bool {
	e := l.openPieces + entries
	return e <= l.maxOpen && int64(e)*entryJSONMax+l.openLimiterBytes+limiterBytes <= maxBatchJSON
}

// limiterJSON is the most JSON a limiter count of key encodes to.
func limiterJSON(key string) int64 { return int64(limiterJSONFixed + jsonStringLen(key)) }

// jsonStringLen is the most bytes encoding/json writes for s between its
// quotes: it escapes quotes and backslashes in two bytes, control
// characters, <, >, &, U+2028, U+2029 and each byte of invalid UTF-8 in six
// at most.
func jsonStringLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}
