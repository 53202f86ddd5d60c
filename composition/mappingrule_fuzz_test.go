package composition

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParsePattern(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			if p != nil {
				t.Fatalf("ParsePattern(%q) returned a pattern and error %v", s, err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("String() = %q, want %q", p.String(), s)
		}
		again, err := ParsePattern(p.String())
		if err != nil || again.String() != s {
			t.Fatalf("reparse of %q: %v", s, err)
		}
		if s[0] != '/' || len(s) > ruleMaxPatternLen || strings.ContainsAny(s, " \t\r\n#") {
			t.Fatalf("accepted invalid pattern %q", s)
		}
		// A pattern without placeholders or query matches its own literal path.
		path, _, hasQuery := strings.Cut(s, "?")
		if !hasQuery && !strings.Contains(path, "{") && !p.Match(strings.TrimSuffix(path, "$"), nil) {
			t.Fatalf("%q does not match its own path", s)
		}
	})
}

func FuzzMatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, pattern, path, rawQuery string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		query, _ := url.ParseQuery(rawQuery)
		got := p.Match(path, query)
		// The regexp oracle sees invalid UTF-8 as U+FFFD; compare only valid text.
		if !utf8.ValidString(path) || !ruleValidQuery(query) {
			return
		}
		if want := ruleOracleMatch(t, pattern, path, query); got != want {
			t.Fatalf("Match(%q, %q) on %q = %v, oracle says %v", path, rawQuery, pattern, got, want)
		}
	})
}

func ruleValidQuery(q url.Values) bool {
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

var ruleOraclePlaceholder = regexp.MustCompile(`\{[^{}]+\}`)

// ruleOracleRegexp translates text the way APIcast does: placeholders become
// the given class, everything else is literal.
func ruleOracleRegexp(text, placeholder string, unescape bool) (string, error) {
	var b strings.Builder
	last := 0
	for _, loc := range ruleOraclePlaceholder.FindAllStringIndex(text, -1) {
		lit := text[last:loc[0]]
		if unescape {
			var err error
			if lit, err = url.QueryUnescape(lit); err != nil {
				return "", err
			}
		}
		b.WriteString(regexp.QuoteMeta(lit))
		b.WriteString(placeholder)
		last = loc[1]
	}
	lit := text[last:]
	if unescape {
		var err error
		if lit, err = url.QueryUnescape(lit); err != nil {
			return "", err
		}
	}
	b.WriteString(regexp.QuoteMeta(lit))
	return b.String(), nil
}

// ruleOracleMatch is a slow, regexp-based reference for Pattern.Match.
func ruleOracleMatch(t *testing.T, pattern, path string, query url.Values) bool {
	t.Helper()
	rawPath, rawQuery, hasQuery := strings.Cut(pattern, "?")
	exact := strings.HasSuffix(rawPath, "$")
	// APIcast's regexpify (3scale/APIcast gateway/src/apicast/mapping_rule.lua).
	expr, err := ruleOracleRegexp(strings.TrimSuffix(rawPath, "$"), `[\w\-.~%!$&'()*+,;=@:]+`, false)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	expr = "^" + expr
	if exact {
		expr += "$"
	}
	if !regexp.MustCompile(expr).MatchString(path) {
		return false
	}
	if !hasQuery {
		return true
	}
	// porta's querystring_parameters: a Hash, the last pair of a name wins.
	want := map[string]string{}
	for pair := range strings.SplitSeq(rawQuery, "&") {
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		want[name] = rawValue
	}
	// APIcast's matches_querystring_params: a placeholder asks for the
	// argument, a literal for its last value.
	for name, rawValue := range want {
		vs := query[name]
		if len(vs) == 0 {
			return false
		}
		if ruleOraclePlaceholder.MatchString(rawValue) {
			continue
		}
		lit, err := url.QueryUnescape(rawValue)
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		if vs[len(vs)-1] != lit {
			return false
		}
	}
	return true
}
