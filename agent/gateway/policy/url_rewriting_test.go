package policy

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ngx.re.sub's replacement: $N and ${N} are captures (digits only: "$1x"
// is capture 1 then "x", where Go's Expand would read a group "1x"), $$ a
// dollar.
func TestNgxReplace(t *testing.T) {
	for _, tc := range []struct{ regex, replace, in, want string }{
		{`/(\w+)/(\d+)`, `/$2x/${1}y/$0/$$`, "/ab/12", "/12x/aby//ab/12/$"},
		{`a(b)?`, `[$1]`, "ac", "[]c"},
		{`x`, `$10`, "x", ""}, // refused below: no 10th capture
	} {
		re, err := compileRegex("regex", tc.regex, "")
		require.NoError(t, err)
		repl, err := parseNgxReplace("replace", tc.replace, re.NumSubexp())
		if tc.want == "" {
			assert.Error(t, err, tc.replace)
			continue
		}
		require.NoError(t, err, tc.replace)
		cmd := rewriteCommand{re: re, replace: repl}
		got, changed := cmd.apply(tc.in)
		assert.True(t, changed)
		assert.Equal(t, tc.want, got)
	}
}

// ngx.re options: i, m, s as flags, a anchors at the start, o j u U d
// change nothing; PCRE-only syntax is refused.
func TestCompileRegexOptions(t *testing.T) {
	match := func(expr, opts, s string) bool {
		re, err := compileRegex("regex", expr, opts)
		require.NoError(t, err, expr)
		return re.MatchString(s)
	}
	assert.True(t, match("ABC", "i", "xabc"))
	assert.False(t, match("ABC", "", "xabc"))
	assert.False(t, match("abc", "a", "xabc"), "a: anchored")
	assert.True(t, match("abc", "ajo", "abcx"))
	assert.True(t, match("^b$", "m", "a\nb\nc"))
	assert.True(t, match("a.b", "s", "a\nb"))
	for _, bad := range []string{`(a)\1`, `a(?=b)`, `a(?!b)`, `(?<=a)b`, `(?>a)`, `a*+`} {
		_, err := compileRegex("commands[0].regex", bad, "")
		var fe *FieldError
		if assert.ErrorAs(t, err, &fe, bad) {
			assert.Equal(t, "commands[0].regex", fe.Field)
		}
	}
	assert.Error(t, checkOptions("options", "x"))
}

func TestJoinPathAndHostHeader(t *testing.T) {
	assert.Equal(t, "/api", JoinPath("/api", "/"))
	assert.Equal(t, "/api/a", JoinPath("/api/", "/a"))
	assert.Equal(t, "/api/a", JoinPath("/api", "/a"))
	for raw, want := range map[string]string{
		"http://x:80": "x", "https://x:443": "x", "http://x:8080": "x:8080", "https://x:80": "x:80", "http://[::1]:80": "[::1]",
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		assert.Equal(t, want, HostHeader(u), raw)
	}
}

// APIcast's get_uri_arg: the first value, decoded.
func TestQueryArg(t *testing.T) {
	assert.Equal(t, "1 2", queryArg("a=0&b=1+2&b=3", "b"))
	assert.Equal(t, "x/y", queryArg("k%20=x%2Fy", "k "))
	assert.Equal(t, "", queryArg("a=1", "b"))
	assert.Equal(t, "", queryArg("a", "a"))
}
