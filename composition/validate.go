package composition

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The validation helpers every kind uses, and 3scale's messages.

const (
	maxNameLen    = 255
	maxTextLen    = 64 << 10
	blank         = "can't be blank"
	taken         = "has already been taken"
	notIncluded   = "is not included in the list"
	invalidFormat = "is invalid"
)

var systemNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-/\[\]]+$`)

func name(v *ValidationError, field, s string) {
	switch {
	case strings.TrimSpace(s) == "":
		v.Add(field, blank)
	case len(s) > maxNameLen:
		v.Add(field, "is too long (maximum is 255 characters)")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		v.Add(field, "must be valid UTF-8 without control characters")
	}
}

func text(v *ValidationError, field, s string) {
	switch {
	case len(s) > maxTextLen:
		v.Add(field, "is too long (maximum is 65536 characters)")
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		v.Add(field, "must be valid UTF-8 without NUL")
	}
}

// headerValue checks a value Portolan will write into an HTTP header: CR or
// LF would let it add headers of its own (RFC 9110 section 5.5 allows no
// control character but HTAB).
func headerValue(v *ValidationError, field, s string) {
	if strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }) {
		v.Add(field, "must not contain CR, LF or other control characters")
	}
}

// headerName checks a name Portolan will read as a header or query
// parameter name: an RFC 9110 token.
func headerName(v *ValidationError, field, s string) {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !isTokenChar(r) }) {
		v.Add(field, "must be a header name: letters, digits and !#$%&'*+-.^_`|~, not blank")
	}
}

func isTokenChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// systemName checks a system_name; an empty one derived from a blank name is
// already reported on the name.
func systemName(v *ValidationError, s string) {
	if s == "" {
		if _, nameBlank := v.Fields["name"]; !nameBlank {
			if _, fnBlank := v.Fields["friendly_name"]; !fnBlank {
				v.Add("system_name", blank)
			}
		}
	} else if len(s) > maxNameLen || !systemNameRE.MatchString(s) {
		v.Add("system_name", "invalid: use letters, numbers, '_', '-', '.', '/', '[', ']'")
	}
}

func oneOf(v *ValidationError, field, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.Add(field, notIncluded+" ("+strings.Join(allowed, ", ")+")")
	}
}

func nonNegative(v *ValidationError, field string, f float64) {
	if f < 0 {
		v.Add(field, "must be greater than or equal to 0")
	}
}

func endpointURL(v *ValidationError, field, s string) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") {
		v.Add(field, "must be an absolute http(s) URL")
	}
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}

// alertLimits checks a service's alert limits: values of AlertLimitValues,
// ascending, each once.
func alertLimits(v *ValidationError, field string, limits []int) {
	for i, l := range limits {
		switch {
		case !slices.Contains(AlertLimitValues, l):
			v.Add(field, notIncluded+" (50, 80, 90, 100, 120, 150, 200, 300)")
			return
		case i > 0 && limits[i-1] >= l:
			v.Add(field, "must be ascending, each value once")
			return
		}
	}
}
