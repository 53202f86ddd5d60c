package manifest

import (
	"bytes"
	"encoding/json"
	"iter"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The YAML library builds the whole tree of a document before the decoder
// counts a value of it, at up to 140 bytes of memory per byte of input: a
// source is cut into its documents first (a JSON array into its items), so
// that none larger than maxDocumentBytes is parsed, and each is parsed
// alone, its tree dropped before the next is built.

// chunk is one document of a YAML source.
type chunk struct {
	data []byte
	line int // line breaks in the source before data: its first line, from 0
}

// yamlDocuments yields the documents of a YAML stream as the YAML library
// reads them. A line starting with "---" then a space, a tab or its end
// starts a document wherever it is, even in a block or quoted scalar
// (YAML 1.2, 9.1.4, c-forbidden: the library ends a block scalar there, and
// refuses a quoted one). Directives belong to the document after them: the
// lines after a "..." document end that are blank, comments or
// directives, and the lines from a directive to the next "---" that are
// (the library ends a document at a directive without "..." too). It reads
// such a line as text in one case only, continuing a document that is a
// plain scalar at the top level, which no document of the format is. Lines
// break as in the library: LF, CR, CRLF, NEL, LS, PS.
func yamlDocuments(data []byte) iter.Seq[chunk] {
	return func(yield func(chunk) bool) {
		if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
			yield(chunk{data: data}) // UTF-16: parsed whole, under the same bound
			return
		}
		start, startLine := 0, 0
		content := false  // since start: a line other than a prologue's
		prologue := -1    // where the next document's prologue starts, when only a prologue followed
		prologueLine := 0 // and its line
		for i, line := 0, 0; i < len(data); line++ {
			end, next := lineEnd(data, i)
			text := data[i:end]
			if i == 0 {
				text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
			}
			switch {
			case marker(text, "---"):
				cut, cutLine := i, line
				if prologue >= 0 {
					cut, cutLine = prologue, prologueLine
				}
				if content {
					if !yield(chunk{data: data[start:cut], line: startLine}) {
						return
					}
					start, startLine = cut, cutLine
				}
				content, prologue = true, -1
			case marker(text, "..."):
				prologue, prologueLine = next, line+1
			case len(text) > 0 && text[0] == '%':
				if prologue < 0 {
					prologue, prologueLine = i, line
				}
			case blankOrComment(text):
			default:
				content, prologue = true, -1
			}
			i = next
		}
		yield(chunk{data: data[start:], line: startLine})
	}
}

// marker reports a line starting with a document marker ("---" or "...").
func marker(text []byte, m string) bool {
	return bytes.HasPrefix(text, []byte(m)) && (len(text) == len(m) || text[len(m)] == ' ' || text[len(m)] == '\t')
}

// blankOrComment reports a line of blanks, or of a comment.
func blankOrComment(text []byte) bool {
	t := bytes.TrimLeft(text, " \t")
	return len(t) == 0 || t[0] == '#'
}

// lineEnd returns where the line starting at i ends and where the next one
// starts.
func lineEnd(data []byte, i int) (end, next int) {
	for j := i; j < len(data); j++ {
		if n := lineBreak(data, j); n > 0 {
			return j, j + n
		}
	}
	return len(data), len(data)
}

// lineBreak returns the length of the line break at i, 0 for none.
func lineBreak(data []byte, i int) int {
	switch c := data[i]; {
	case c == '\n':
		return 1
	case c == '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case c == 0xc2 && i+1 < len(data) && data[i+1] == 0x85:
		return 2
	case c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9):
		return 3
	}
	return 0
}

// jsonArray returns where the items of a source that is one JSON array
// start (after its "["), and the line of the "[", or -1.
func jsonArray(data []byte) (open, line int) {
	body := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' || !json.Valid(body) {
		return -1, 0
	}
	open = len(data) - len(trimmed) + 1
	return open, lines(data[:open])
}

// jsonSurrogates returns a source that is one JSON text with each escaped
// UTF-16 surrogate pair ("\ud83d\udcf0", RFC 8259, 7: how JSON escapes a
// character beyond the Basic Multilingual Plane, and how Python's
// json.dumps writes every one) written as the character itself, and each
// lone half as U+FFFD, as encoding/json reads them: the YAML library
// refuses a surrogate escape, so JSON would not read as the YAML it is
// otherwise. The result is JSON still, with the same lines; any other
// source is returned as it is.
func jsonSurrogates(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\u`)) {
		return data
	}
	if !json.Valid(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
		return data
	}
	var out []byte
	str, last := false, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !str {
			str = c == '"'
			continue
		}
		switch {
		case c == '"':
			str = false
		case c == '\\' && i+1 < len(data) && data[i+1] != 'u':
			i++ // an escape of one character, an escaped backslash among them
		case c == '\\':
			r, n := escapedRune(data[i:])
			if n == 0 {
				continue
			}
			out = utf8.AppendRune(append(out, data[last:i]...), r)
			last = i + n
			i += n - 1
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// escapedRune reads the \uXXXX escape (valid JSON) at the start of b: the
// character a surrogate pair escapes, or U+FFFD for a lone half, and the
// bytes read; n is 0 for an escape of no surrogate, kept as written.
func escapedRune(b []byte) (r rune, n int) {
	hi, ok := hex4(b)
	if !ok || !utf16.IsSurrogate(hi) {
		return 0, 0
	}
	if lo, ok := hex4(b[6:]); ok {
		if r := utf16.DecodeRune(hi, lo); r != utf8.RuneError {
			return r, 12
		}
	}
	return utf8.RuneError, 6
}

// hex4 reads the \uXXXX escape at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[2:6]), 16, 16)
	return rune(v), err == nil
}

// jsonItems yields each item of the valid JSON array whose items start at
// open: its start, its end and its line.
func jsonItems(data []byte, open, line int) iter.Seq2[[2]int, int] {
	return func(yield func([2]int, int) bool) {
		depth, str, esc := 0, false, false
		start, startLine := -1, 0
		for i := open; i < len(data); i++ {
			if n := lineBreak(data, i); n > 0 { // NEL, LS and PS too, which a JSON text may hold
				line++
				i += n - 1
				continue
			}
			c := data[i]
			switch {
			case str:
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					str = false
				}
				continue
			case c == ' ' || c == '\t':
				continue
			case depth == 0 && (c == ',' || c == ']'):
				if start >= 0 && !yield([2]int{start, end(data, start, i)}, startLine) {
					return
				}
				if c == ']' {
					return
				}
				start = -1
				continue
			}
			if start < 0 {
				start, startLine = i, line
			}
			switch c {
			case '"':
				str = true
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
		}
	}
}

// end is where the item between start and the separator at sep ends.
func end(data []byte, start, sep int) int {
	return start + len(bytes.TrimRight(data[start:sep], " \t\r\n"))
}

// lines counts the line breaks of data.
func lines(data []byte) int {
	n := 0
	for i := 0; i < len(data); i++ {
		if b := lineBreak(data, i); b > 0 {
			n++
			i += b - 1
		}
	}
	return n
}
