package threescale

import (
	"regexp"
	"testing"
)

// FuzzAppCredentialFormats checks the hand-written user_key and
// application_id checks against porta's formats as regular expressions.
func FuzzAppCredentialFormats(f *testing.F) {
	userKey := regexp.MustCompile(`^(?:[\w\-.]+|(?:[A-Za-z0-9+]{4})*(?:[A-Za-z0-9+]{4}|[A-Za-z0-9+]{3}=|[A-Za-z0-9+]{2}==))$`)
	appID := regexp.MustCompile(`^[\x21-\x2e\x30-\x7e]+$`)
	for _, s := range []string{"", "abc", "key_1.x-y", "ab==", "abc=", "a===", "++++", "ab+c/d==", "new key", "app/id", "é", "QUJD", "QUJDRA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validUserKey(s), userKey.MatchString(s); got != want {
			t.Fatalf("validUserKey(%q) = %v, porta's format says %v", s, got, want)
		}
		if got, want := validAppID(s), appID.MatchString(s); got != want {
			t.Fatalf("validAppID(%q) = %v, porta's format says %v", s, got, want)
		}
	})
}
