package redact

import (
	"strings"
	"testing"
)

// FuzzURLMasked: URLMasked reads any text without failing, and a URL with a
// password written after any text is masked all the same.
func FuzzURLMasked(f *testing.F) {
	for _, s := range []string{"", "https://id:s@idp/realm?api_key=k&x=1", "<https://a:s1@x>, <https://b:s2@y>",
		"http://x/?redirect=http://u:pw@y&token=t", "redis://secret@redis:6379/1", "://", "a://b://c?d?e&f=g", "http://[::1]:80@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = URLMasked(s)
		const pw = "Zq7sEcRetPw"
		if strings.Contains(s, pw) {
			return
		}
		if got := URLMasked(s + " https://user:" + pw + "@host.example/path"); strings.Contains(got, pw) {
			t.Fatalf("URLMasked(%q + a URL with a password) = %q: the password shows", s, got)
		}
	})
}
