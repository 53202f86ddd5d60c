package composition

import (
	"regexp"
	"strings"
	"testing"
)

// isCredential says what 3scale's credential format, the regexp below,
// says, for every length around its bounds and every byte.
func TestIsCredentialIsItsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)
	inputs := []string{"", "a", "é", "a b", "a\tb", "key\x7f", "\xff", "k\x00", strings.Repeat("k", 255),
		strings.Repeat("k", 256), strings.Repeat("k", 257), strings.Repeat("é", 100)}
	for b := range 256 {
		inputs = append(inputs, "k"+string([]byte{byte(b)}))
	}
	for _, s := range inputs {
		if got, want := isCredential(s), re.MatchString(s); got != want {
			t.Errorf("isCredential(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
