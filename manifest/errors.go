package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a problem with one document: where it is, which entity, which
// field. Its text reads
//
//	news.yaml: document 2 (Service "news"): plans[basic].limits[0].period: "dai" is not one of ...
//
// with ":LINE" after the source when the line is known.
type Error struct {
	Source string // file name or what the caller named the input
	Index  int    // the document's position in the source, from 1; 0 for the source as a whole
	Line   int    // the line of the field (or document), from 1; 0 when unknown
	Kind   string // the document's kind (Service, Product...), when known
	Name   string // the entity's system_name (org_name, name), when known
	Path   string // the field path inside the document (plans[basic].limits[0].period)
	Msg    string
	// more is how many problems past maxErrors this last entry of Errors
	// stands for: they are counted, not listed (Errors.add).
	more int
}

func (e *Error) Error() string {
	if e.more > 0 {
		return e.Msg
	}
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Index > 0 {
		b.WriteString(": document " + strconv.Itoa(e.Index))
		if e.Kind != "" {
			// Kind and Name are as the document wrote them, checked or not:
			// a long one is cut, not repeated in every error.
			b.WriteString(" (" + short(e.Kind))
			if e.Name != "" {
				b.WriteString(" " + strconv.Quote(short(e.Name)))
			}
			b.WriteString(")")
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds the problems one decode reports: past a few dozen, more
// only hide the first.
const maxErrors = 50

// Errors is every problem found in a set of documents, in document order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, 0, len(es))
	for _, e := range es {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// add appends e; past maxErrors, a last entry counts the problems not
// listed, so the answer stays small and still says there is more to fix.
func (es *Errors) add(e *Error) {
	n := len(*es)
	switch {
	case n > 0 && (*es)[n-1].more > 0:
		(*es)[n-1].count(max(e.more, 1))
	case n < maxErrors && e.more == 0:
		*es = append(*es, e)
	default:
		sum := &Error{Source: e.Source}
		sum.count(max(e.more, 1))
		*es = append(*es, sum)
	}
}

// count adds n to the problems a last entry stands for.
func (e *Error) count(n int) {
	e.more += n
	noun := "problems"
	if e.more == 1 {
		noun = "problem"
	}
	e.Msg = fmt.Sprintf("and %d more %s, not listed: only the first %d are", e.more, noun, maxErrors)
}

// err returns es as an error, nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// fieldError is a problem at a field path, before it knows its document.
type fieldError struct {
	path string
	line int
	msg  string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func errorf(path string, line int, format string, args ...any) *fieldError {
	return &fieldError{path: path, line: line, msg: fmt.Sprintf(format, args...)}
}
