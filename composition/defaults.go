package composition

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// SystemName derives a system_name from a display name the way 3scale does:
// lower case, runs of other characters folded into one underscore.
func SystemName(name string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
			underscore = false
		} else if !underscore && b.Len() > 0 {
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

func defaultStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// randomHex returns n random bytes in hex: generated credentials and secrets.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("composition: crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return hex.EncodeToString(b)
}
