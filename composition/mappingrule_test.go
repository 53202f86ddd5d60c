package composition

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePatternValid(t *testing.T) {
	for _, s := range []string{
		"/",
		"/$",
		"/foo",
		"/foo$",
		"/foo/",
		"/foo/bar.json",
		"/v1/{id}",
		"/v1/{id}$",
		"/v1/word/{word}.json",
		"/v1/{a}-{b}/x",
		"/v1/{a}{b}",
		"/{a}/{b}/{c}$",
		"/search?q={q}",
		"/search$?q={q}&lang=en",
		"/a?b=",
		"/a?b=c=d",
		"/a?x=%20y&z=a+b",
		"/a?v=pre{x}",
		"/~user/!$",
		"/caf\u00e9/{id}",
		"/a" + strings.Repeat("b", ruleMaxPatternLen-2),
	} {
		t.Run(s[:min(len(s), 40)], func(t *testing.T) {
			p, err := ParsePattern(s)
			require.NoError(t, err)
			assert.Equal(t, s, p.String())
		})
	}
}

func TestParsePatternInvalid(t *testing.T) {
	for _, tc := range []struct{ pattern, problem string }{
		{"", "empty"},
		{"foo", "must start with '/'"},
		{"{id}", "must start with '/'"},
		{"?a=1", "must start with '/'"},
		{"/foo bar", "whitespace at offset 4"},
		{"/foo\tbar", "whitespace"},
		{"/foo\u00a0bar", "whitespace"},
		{"/foo\x00", "control character at offset 4"},
		{"/foo\x7f", "control character"},
		{"/foo\u0090", "control character"},
		{"/foo\xff", "invalid UTF-8"},
		{"/foo#bar", "'#' at offset 4"},
		{"/foo?a=#", "'#'"},
		{"/{id", "unbalanced '{'"},
		{"/id}", "unbalanced '}'"},
		{"/{id}}", "unbalanced '}'"},
		{"/}{id}", "unbalanced '}'"},
		{"/a/{b/c}", "unbalanced '{'"},
		{"/{a{b}}", "nested '{'"},
		{"/x/{}", "empty placeholder '{}'"},
		{"/x?a={}", "empty placeholder '{}'"},
		{"/x?a={v", "unbalanced '{'"},
		{"/x?a=v}", "unbalanced '}'"},
		{"/{a?b=1}", "unbalanced '{'"},
		{"/$/foo", "'$' at offset 1"},
		{"/foo$$", "'$' at offset 4"},
		{"/foo$bar", "'$' at offset 4"},
		{"/foo?a=1$", "'$' in the query part at offset 8"},
		{"/foo$?a=$", "'$' in the query part at offset 8"},
		{"/foo?", "empty query part"},
		{"/foo?=1", "empty name"},
		{"/foo?a=1&", "empty name"},
		{"/foo?a=1&&b=2", "empty name"},
		{"/foo?a", "has no '=value'"},
		{"/foo?{n}=1", "placeholder in query parameter name"},
		{"/foo?a=%zz", "query parameter \"a\" value"},
		{"/foo?%zz=1", "query parameter name"},
		{"/" + strings.Repeat("a", ruleMaxPatternLen), "longer than 2048 bytes"},
	} {
		t.Run(tc.pattern[:min(len(tc.pattern), 40)], func(t *testing.T) {
			p, err := ParsePattern(tc.pattern)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tc.problem)
		})
	}
}

func TestPatternMatch(t *testing.T) {
	type req struct {
		path, query string
		want        bool
	}
	for _, tc := range []struct {
		pattern string
		reqs    []req
	}{
		{"/", []req{{"/", "", true}, {"/anything/at/all", "x=1", true}, {"", "", false}, {"foo", "", false}}},
		{"/$", []req{{"/", "", true}, {"/a", "", false}, {"", "", false}}},
		// APIcast prefix semantics: a plain regex prefix, not a segment prefix.
		{"/foo", []req{
			{"/foo", "", true}, {"/foo/", "", true}, {"/foo/bar", "", true}, {"/foobar", "", true},
			{"/fo", "", false}, {"/bar/foo", "", false}, {"/Foo", "", false},
		}},
		{"/foo$", []req{{"/foo", "", true}, {"/foo/", "", false}, {"/foobar", "", false}, {"/fo", "", false}}},
		{"/foo/", []req{{"/foo/", "", true}, {"/foo/bar", "", true}, {"/foo", "", false}}},
		{"/foo/$", []req{{"/foo/", "", true}, {"/foo/bar", "", false}}},
		// Literal text is literal, even characters that are special in regexps.
		{"/v1.0/a+b*", []req{{"/v1.0/a+b*", "", true}, {"/v1x0/a+b*", "", false}, {"/v1.0/aab", "", false}}},
		{"/v1/{id}", []req{
			{"/v1/1", "", true}, {"/v1/abc", "", true}, {"/v1/abc/def", "", true},
			{"/v1/", "", false}, {"/v1", "", false}, {"/v1//x", "", false}, {"/v2/1", "", false},
		}},
		{"/v1/{id}$", []req{{"/v1/1", "", true}, {"/v1/1/", "", false}, {"/v1/1/x", "", false}, {"/v1/", "", false}}},
		{"/v1/{id}/items", []req{
			{"/v1/7/items", "", true}, {"/v1/7/items/3", "", true}, {"/v1/7/itemsx", "", true},
			{"/v1/7/8/items", "", false}, {"/v1//items", "", false}, {"/v1/7/item", "", false},
		}},
		{"/v1/{id}/items$", []req{{"/v1/7/items", "", true}, {"/v1/7/items/", "", false}, {"/v1/a/b/items", "", false}}},
		// Placeholders mixed with literal text in one segment.
		{"/v1/word/{word}.json", []req{
			{"/v1/word/hello.json", "", true}, {"/v1/word/a.b.json", "", true}, {"/v1/word/x.json/more", "", true},
			{"/v1/word/.json", "", false}, {"/v1/word/hello.xml", "", false}, {"/v1/word/a/b.json", "", false},
		}},
		{"/v1/word/{word}.json$", []req{{"/v1/word/x.json", "", true}, {"/v1/word/x.jsonp", "", false}, {"/v1/word/x.json.json", "", true}}},
		{"/v1/{a}-{b}$", []req{{"/v1/x-y", "", true}, {"/v1/x-y-z", "", true}, {"/v1/-y", "", false}, {"/v1/x-", "", false}, {"/v1/xy", "", false}}},
		{"/v1/{a}{b}$", []req{{"/v1/ab", "", true}, {"/v1/abc", "", true}, {"/v1/a", "", false}}},
		{"/v1/{a}{b}", []req{{"/v1/ab", "", true}, {"/v1/a", "", false}, {"/v1/a/b", "", false}}},
		{"/pre{x}", []req{{"/prefix", "", true}, {"/pre", "", false}, {"/pre/x", "", false}, {"/pr", "", false}}},
		{"/{a}/{b}/{c}$", []req{{"/1/2/3", "", true}, {"/1/2", "", false}, {"/1/2/3/4", "", false}, {"/1//3", "", false}}},
		{"/a/{x}.{y}$", []req{{"/a/b.c", "", true}, {"/a/b.c.d", "", true}, {"/a/b.", "", false}, {"/a/.c", "", false}, {"/a/bc", "", false}}},
		// Query: literal values (the last one given), placeholders (any value
		// given, empty too: APIcast's matches_querystring_params), extra parameters.
		{"/search?q={q}", []req{
			{"/search", "q=go", true}, {"/search/x", "q=go&page=2", true},
			{"/search", "", false}, {"/search", "q=", true}, {"/search", "query=go", false},
		}},
		{"/search$?q={q}&lang=en", []req{
			{"/search", "q=go&lang=en", true}, {"/search", "lang=en&q=go&x=y", true},
			{"/search", "q=go&lang=fr", false}, {"/search", "q=go", false}, {"/search/", "q=go&lang=en", false},
			{"/search", "q=go&lang=fr&lang=en", true}, {"/search", "q=go&lang=en&lang=fr", false},
		}},
		{"/a?b=", []req{{"/a", "b=", true}, {"/a", "b", true}, {"/a", "b=1", false}, {"/a", "", false}}},
		{"/a?x=%20y&z=a+b", []req{{"/a", "x=+y&z=a%20b", true}, {"/a", "x=%20y&z=a+b", true}, {"/a", "x=%2520y&z=a+b", false}}},
		{"/a?v=pre{x}", []req{{"/a", "v=prefix", true}, {"/a", "v=pre", true}, {"/a", "v=other", true}, {"/a", "", false}}},
		{"/a?k=v&k=w", []req{{"/a", "k=v&k=w", true}, {"/a", "k=v", false}}},
		{"/caf\u00e9/{id}", []req{{"/caf\u00e9/1", "", true}, {"/cafe/1", "", false}}},
	} {
		p, err := ParsePattern(tc.pattern)
		require.NoError(t, err, tc.pattern)
		for _, r := range tc.reqs {
			q, err := url.ParseQuery(r.query)
			require.NoError(t, err)
			assert.Equal(t, r.want, p.Match(r.path, q), "pattern %q path %q query %q", tc.pattern, r.path, r.query)
		}
	}
}

func TestPatternMatchNilQuery(t *testing.T) {
	p, err := ParsePattern("/a?b={b}")
	require.NoError(t, err)
	assert.False(t, p.Match("/a", nil))
	p, err = ParsePattern("/a")
	require.NoError(t, err)
	assert.True(t, p.Match("/a", nil))
}

func TestNilPattern(t *testing.T) {
	var p *Pattern
	assert.Equal(t, "", p.String())
	assert.False(t, p.Match("/", nil))
}

func TestPatternMatchNoAllocs(t *testing.T) {
	p, err := ParsePattern("/v1/{id}/items/{item}.json$?fields={f}&v=2")
	require.NoError(t, err)
	q := url.Values{"fields": {"a,b"}, "v": {"2"}}
	allocs := testing.AllocsPerRun(100, func() {
		if !p.Match("/v1/42/items/7.json", q) {
			panic("no match")
		}
	})
	assert.Zero(t, allocs)
}

func TestValidHTTPMethod(t *testing.T) {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY", "get", "Patch", "any"} {
		assert.True(t, ValidHTTPMethod(m), m)
	}
	// porta's ProxyRule::ALLOWED_HTTP_METHODS has no TRACE or CONNECT.
	for _, m := range []string{"", "GETS", "FOO", "PROPFIND", " GET", "GET ", "TRACE", "CONNECT"} {
		assert.False(t, ValidHTTPMethod(m), m)
	}
}

func TestMethodMatches(t *testing.T) {
	for _, tc := range []struct {
		rule, req string
		want      bool
	}{
		{"GET", "GET", true},
		{"GET", "get", false}, // methods are case-sensitive (RFC 9110 §9.1)
		{"GET", "Get", false},
		{"get", "GET", true}, // a rule names its method in any case
		{"get", "get", false},
		{"DELETE", "delete", false},
		{"ANY", "get", true}, // ANY matches any method token
		{"any", "pRoPfInD", true},
		{"GET", "POST", false},
		{"GET", "HEAD", false},
		{"ANY", "GET", true},
		{"ANY", "DELETE", true},
		{"any", "PROPFIND", true},
		{"POST", "ANY", false},
		{"FOO", "FOO", false},
		{"", "", false},
	} {
		assert.Equal(t, tc.want, MethodMatches(tc.rule, tc.req), "%q vs %q", tc.rule, tc.req)
	}
}
