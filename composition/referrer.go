package composition

import (
	"regexp"
	"strings"
)

// Denial codes of apisonator's referrer validator.
const (
	// DenialReferrerNotAllowed: the application has referrer filters and the
	// call's referrer matches none of them (or is missing).
	DenialReferrerNotAllowed = "referrer_not_allowed"
)

// ReferrerBypass is the referrer value that skips the check, as apisonator's.
const ReferrerBypass = "*"

// CheckReferrer applies apisonator's referrer validator to an application:
// an application without filters accepts any referrer; with filters, the
// referrer (given reports whether the call carried one at all) must match
// one of them, unless it is "*". A missing referrer matches no filter, not
// even "*". The caller applies it only when the service has
// referrer_filters_required, as apisonator does.
func CheckReferrer(app *Application, referrer string, given bool) *Denial {
	if app == nil || len(app.ReferrerFilters) == 0 {
		return nil
	}
	if given && referrer == ReferrerBypass {
		return nil
	}
	if given {
		for _, f := range app.ReferrerFilters {
			if MatchReferrer(f.Value, referrer) {
				return nil
			}
		}
	}
	// apisonator's message says "missing" for a blank referrer: none, empty
	// or only whitespace (its String#blank?, no \S).
	if strings.Trim(referrer, " \t\n\v\f\r") == "" {
		return &Denial{Code: DenialReferrerNotAllowed, Reason: "referrer is missing"}
	}
	return &Denial{Code: DenialReferrerNotAllowed, Reason: `referrer "` + clipID(referrer) + `" is not allowed`}
}

// ReferrerStep is apisonator's referrer validator in its place in the
// chain: after the key checks, before the state's. It applies only when
// required (the service's referrer_filters_required) and the application
// is known, and then replaces no denial or a not-active one (so a suspended
// application with a bad referrer is refused for the referrer, as
// apisonator refuses it); any other denial stands.
func ReferrerStep(required bool, app *Application, referrer string, given bool, denial *Denial) *Denial {
	if !required || app == nil || denial != nil && denial.Code != DenialApplicationNotActive {
		return denial
	}
	if d := CheckReferrer(app, referrer, given); d != nil {
		return d
	}
	return denial
}

// MatchReferrer reports whether referrer matches filter by 3scale's rules:
// the whole referrer must match, every character literally but "*", which
// matches any run of characters other than a newline ("*.example.com",
// "api.*.com", "*"). It is the anchored regular expression apisonator builds
// from the filter, evaluated without one: O(len(filter)·len(referrer)) time,
// one allocation.
func MatchReferrer(filter, referrer string) bool {
	// ok[j]: filter[:i] matches referrer[:j], row by row over i.
	ok := make([]bool, len(referrer)+1)
	ok[0] = true
	for i := 0; i < len(filter); i++ {
		c := filter[i]
		if c == '*' {
			// a run: ok[j] stays, or extends ok[j-1] over a non-newline.
			for j := 1; j <= len(referrer); j++ {
				ok[j] = ok[j] || ok[j-1] && referrer[j-1] != '\n'
			}
			continue
		}
		for j := len(referrer); j >= 1; j-- {
			ok[j] = ok[j-1] && referrer[j-1] == c
		}
		ok[0] = false
	}
	return ok[len(referrer)]
}

// MaxReferrerFilters is how many referrer filters an application has at
// most (porta's ReferrerFilter::REFERRER_FILTERS_LIMIT).
const MaxReferrerFilters = 5

// referrerFilterRE is porta's format for a referrer filter: a domain or IP,
// with '*' wildcards.
var referrerFilterRE = regexp.MustCompile(`^[a-zA-Z0-9*.\-]+$`)

// CheckReferrerFilter returns porta's message for a referrer filter value
// it would refuse ("" when valid): blank, over 255 characters, or not a
// domain or IP.
func CheckReferrerFilter(value string) string {
	switch {
	case value == "":
		return "can't be blank"
	case len(value) > 255:
		return "is too long (maximum is 255 characters)"
	case !referrerFilterRE.MatchString(value):
		return "is invalid"
	}
	return ""
}
