package policy

import (
	"regexp"
	"unicode/utf8"
)

// matches returns the matches ngx.re.sub (one) or ngx.re.gsub (all) finds
// in s, as lua-resty-core's loop finds them: PCRE runs again from where the
// last match ended and every match it finds counts; after an empty match
// it moves one character on. Go's FindAll differs in one case: it drops an
// empty match right after a non-empty one ("baaac" with a* is "-b--c-" in
// APIcast, "-b-c-" in Go), so the loop is written here. A search from pos
// past 0 runs cmd.from on s from the character before pos, so that the
// assertions at pos (\b, \B, ^ and \A) see what precedes it as PCRE's
// start offset lets them.
func (cmd *rewriteCommand) matches(s string) [][]int {
	m := cmd.re.FindStringSubmatchIndex(s)
	if m == nil {
		return nil
	}
	out := [][]int{m}
	for cmd.global {
		pos := m[1]
		if m[0] == m[1] {
			if pos >= len(s) {
				break
			}
			_, w := utf8.DecodeRuneInString(s[pos:])
			pos += w
		}
		if m = cmd.searchFrom(s, pos); m == nil {
			break
		}
		out = append(out, m)
	}
	return out
}

// searchFrom is PCRE's search of s from start offset pos > 0: cmd.from,
// run on s from the rune before pos, consumes that rune, then finds re's
// leftmost-first match from pos (or, anchored, at pos) as its group 1.
func (cmd *rewriteCommand) searchFrom(s string, pos int) []int {
	_, w := utf8.DecodeLastRuneInString(s[:pos])
	at := pos - w
	fm := cmd.from.FindStringSubmatchIndex(s[at:])
	if fm == nil {
		return nil
	}
	m := fm[2:]
	for i := range m {
		if m[i] >= 0 {
			m[i] += at
		}
	}
	return m
}

// newRewriteCommand compiles a command's regex (compileRegex) with the
// variant its gsub searches with past the start (searchFrom): the regex as
// group 1 after one consumed rune, preceded by the shortest run of any
// runes (so group 1 is its leftmost-first match from there), or by none
// when the a option anchors every match where the search starts, as
// PCRE_ANCHORED does at a start offset.
func newRewriteCommand(field, expr, options string) (*rewriteCommand, error) {
	re, err := compileRegex(field, expr, options)
	if err != nil {
		return nil, err
	}
	flags, anchored := regexFlags(options)
	src := `\A(?s:.)`
	if !anchored {
		src += `(?s:.*?)`
	}
	src = flags + src + "(" + expr + ")"
	from, err := regexp.Compile(src)
	if err != nil {
		return nil, Invalid(field, "%q is not a regular expression the gateway can run: %v", expr, err)
	}
	return &rewriteCommand{re: re, from: from}, nil
}
