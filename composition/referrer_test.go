package composition

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// referrerRegexp is apisonator's own reading of a filter: the filter quoted,
// each "*" turned into ".*", anchored at both ends.
func referrerRegexp(filter string) *regexp.Regexp {
	return regexp.MustCompile(`\A(?:` + strings.ReplaceAll(regexp.QuoteMeta(filter), `\*`, `.*`) + `)\z`)
}

func TestMatchReferrer(t *testing.T) {
	for _, tc := range []struct {
		filter, referrer string
		want             bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "www.example.com", false},
		{"example.com", "example.comm", false},
		{"example.com", "exampleXcom", false}, // "." is literal
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "api.example.com.evil.org", false},
		{"api.*.com", "api.foo.com", true},
		{"*", "anything at all", true},
		{"*", "", true},
		{"*", "two\nlines", false}, // "*" does not cross a newline
		{"192.168.*", "192.168.1.10", true},
		{"192.168.*", "10.192.168.1", false},
		{"", "", true},
		{"", "x", false},
		{"a**b", "ab", true},
		{"[a-z]+", "abc", false}, // regexp syntax is literal
		{"[a-z]+", "[a-z]+", true},
	} {
		if got := MatchReferrer(tc.filter, tc.referrer); got != tc.want {
			t.Errorf("MatchReferrer(%q, %q) = %v, want %v", tc.filter, tc.referrer, got, tc.want)
		}
		if re := referrerRegexp(tc.filter).MatchString(tc.referrer); re != tc.want {
			t.Errorf("the regexp reading of %q on %q = %v, want %v: the table is wrong", tc.filter, tc.referrer, re, tc.want)
		}
	}
}

func TestCheckReferrer(t *testing.T) {
	open := &Application{}
	filtered := &Application{ReferrerFilters: []ReferrerFilter{{Value: "*.example.com"}, {Value: "10.0.0.1"}}}
	for _, tc := range []struct {
		name     string
		app      *Application
		referrer string
		given    bool
		want     string // reason, "" when allowed
	}{
		{"no filters, no referrer", open, "", false, ""},
		{"no filters, any referrer", open, "evil.org", true, ""},
		{"matching wildcard", filtered, "api.example.com", true, ""},
		{"matching exact", filtered, "10.0.0.1", true, ""},
		{"bypass", filtered, "*", true, ""},
		{"missing", filtered, "", false, "referrer is missing"},
		{"empty", filtered, "", true, "referrer is missing"},
		{"blank", filtered, " \t ", true, "referrer is missing"},
		{"not matching", filtered, "evil.org", true, `referrer "evil.org" is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := CheckReferrer(tc.app, tc.referrer, tc.given)
			switch {
			case tc.want == "" && d != nil:
				t.Fatalf("want allowed, got %+v", d)
			case tc.want != "" && (d == nil || d.Reason != tc.want || d.Code != DenialReferrerNotAllowed):
				t.Fatalf("want %s %q, got %+v", DenialReferrerNotAllowed, tc.want, d)
			case d != nil && !d.Rejection():
				t.Fatalf("a referrer denial is a rejection (409 status), got an error document")
			}
		})
	}
}

// ReferrerStep runs only when required and for a known application, after
// the key checks: it replaces no denial or a not-active one, never another.
func TestReferrerStep(t *testing.T) {
	filtered := &Application{ReferrerFilters: []ReferrerFilter{{Value: "*.example.com"}}}
	notActive := &Denial{Code: DenialApplicationNotActive, Reason: "application is not active"}
	badKey := &Denial{Code: DenialUserKeyInvalid, Reason: "user key is invalid"}
	for _, tc := range []struct {
		name     string
		required bool
		app      *Application
		referrer string
		denial   *Denial
		want     string // the code, "" when allowed
	}{
		{"not required", false, filtered, "evil.org", nil, ""},
		{"not required, not active", false, filtered, "evil.org", notActive, DenialApplicationNotActive},
		{"allowed", true, filtered, "api.example.com", nil, ""},
		{"refused", true, filtered, "evil.org", nil, DenialReferrerNotAllowed},
		{"refused before the state", true, filtered, "evil.org", notActive, DenialReferrerNotAllowed},
		{"allowed, then the state", true, filtered, "api.example.com", notActive, DenialApplicationNotActive},
		{"a bad key stands", true, filtered, "evil.org", badKey, DenialUserKeyInvalid},
		{"no application", true, nil, "evil.org", badKey, DenialUserKeyInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ReferrerStep(tc.required, tc.app, tc.referrer, true, tc.denial)
			got := ""
			if d != nil {
				got = d.Code
			}
			if got != tc.want {
				t.Fatalf("want %q, got %+v", tc.want, d)
			}
		})
	}
}

// FuzzReferrerMatch holds MatchReferrer to apisonator's regular expression
// reading of a filter.
func FuzzReferrerMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"*.example.com", "api.example.com"}, {"example.com", "example.com"}, {"*", "a\nb"},
		{"a*b*c", "axbyc"}, {"192.168.*", "192.168.1.1"}, {"api.*.com", "api..com"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, referrer string) {
		if len(filter) > 256 || len(referrer) > 1024 || !utf8.ValidString(filter) || !utf8.ValidString(referrer) {
			return // apisonator refuses data that is not UTF-8 before any check
		}
		want := referrerRegexp(filter).MatchString(referrer)
		if got := MatchReferrer(filter, referrer); got != want {
			t.Fatalf("MatchReferrer(%q, %q) = %v, apisonator's regexp says %v", filter, referrer, got, want)
		}
	})
}
