package policy

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gsubCommand compiles a gsub (or sub) command as newURLRewriting does.
func gsubCommand(t testing.TB, global bool, regex, options, replace string) *rewriteCommand {
	t.Helper()
	cmd, err := newRewriteCommand("regex", regex, options)
	require.NoError(t, err, regex)
	cmd.global = global
	cmd.replace, err = parseNgxReplace("replace", replace, cmd.re.NumSubexp())
	require.NoError(t, err, replace)
	return cmd
}

// APIcast's url_rewriting calls ngx.re.gsub, whose loop (lua-resty-core's
// re_sub_str_helper) runs PCRE from where the last match ended and takes
// every match it finds: after an empty match it moves one character on.
// So an empty match right after a non-empty one counts, where Go's
// FindAll drops it: "baaac" with a* is "-b--c-" in APIcast, "-b-c-" in
// Go. With the a option (PCRE_ANCHORED) every match must start where the
// last one ended, so gsub replaces a run at the start, not only the first
// match. Each want below is worked by hand through that loop.
func TestGsubIteratesAsNgxReGsub(t *testing.T) {
	for _, tc := range []struct{ regex, options, replace, in, want string }{
		{`a*`, "", "-", "baaac", "-b--c-"},
		{`a*`, "", "-", "baaa", "-b--"},
		{`a*`, "", "-", "/aa/b", "-/--/-b-"},
		{`x*`, "", "-", "abc", "-a-b-c-"},
		{`^`, "", "-", "abc", "-abc"},
		{`$`, "", "-", "abc", "abc-"},
		{`(a*)`, "", "<$1>", "xaay", "<>x<aa><>y<>"},
		{`a|\b`, "", "-", "ab a", "-b- --"}, // \b at the end sees the 'a' before it
		{`/v1`, "", "/v2", "/v1/items/v1", "/v2/items/v2"},
		{`A`, "i", "-", "aAb", "--b"},
		{`a`, "a", "-", "aaab", "---b"},
		{`a`, "a", "-", "baa", "baa"},
		{`a*`, "a", "-", "aab", "--b-"}, // empty at 2 and at 3, each where the last ended
		{`é*`, "", "-", "xéé", "-x--"},
	} {
		got, changed := gsubCommand(t, true, tc.regex, tc.options, tc.replace).apply(tc.in)
		assert.Equal(t, tc.want != tc.in, changed, "gsub(%q, %q, %q, %q)", tc.in, tc.regex, tc.replace, tc.options)
		assert.Equal(t, tc.want, got, "gsub(%q, %q, %q, %q)", tc.in, tc.regex, tc.replace, tc.options)
	}
	// sub takes the first match only, as before
	got, _ := gsubCommand(t, false, `a*`, "", "-").apply("baaac")
	assert.Equal(t, "-baaac", got)
}

// FuzzGsubDiffersFromGoOnlyWhereNgxDoes holds the loop to the one way
// ngx.re.gsub's matches differ from Go's FindAll: its matches are Go's,
// plus empty matches right where a non-empty one ended, never fewer or
// others.
func FuzzGsubDiffersFromGoOnlyWhereNgxDoes(f *testing.F) {
	regexes := []string{`a*`, `x*`, `^`, `$`, `\b`, `a|\b`, `(a*)(b?)`, `/+`, `[^/]*`, `a*?`, `(?:)|a`, `é*`}
	for _, s := range []string{"", "baaac", "/aa//b/", "ab a", "ééa", "\xffa\xfe"} {
		for i := range regexes {
			f.Add(i, s)
		}
	}
	f.Add(math.MinInt, "a") // its negation is itself
	f.Fuzz(func(t *testing.T, i int, s string) {
		i %= len(regexes)
		if i < 0 {
			i += len(regexes)
		}
		cmd := gsubCommand(t, true, regexes[i], "", "-")
		ours := cmd.matches(s)
		goes := cmd.re.FindAllStringSubmatchIndex(s, -1)
		j := 0
		for k, m := range ours {
			if j < len(goes) && slices.Equal(goes[j], m) {
				j++
				continue
			}
			extra := m[0] == m[1] && k > 0 && ours[k-1][1] == m[0] && ours[k-1][0] < ours[k-1][1]
			require.True(t, extra, "%q on %q: match %v is neither Go's nor an empty one after a non-empty one", cmd.re, s, m)
		}
		require.Equal(t, len(goes), j, "%q on %q: every Go match is one of ngx's", cmd.re, s)
	})
}
