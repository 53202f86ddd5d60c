// Package grafana_test tests the Grafana dashboard beside it
// (portolan.json): that it is well formed, and that every metric family and
// label its PromQL queries name is in a real coordinator's and a real
// agent's /metrics. A test-only package: nothing of it is built into
// portolan, and it imports only the test harnesses (internal/testenv) and
// the wire types it scrapes with.
//
// The queries are read by the small PromQL reader below rather than by
// Prometheus' own parser: github.com/prometheus/prometheus would raise
// grpc, genproto and x/exp in the binary's go.mod for a test's sake.
package grafana_test

import (
	"fmt"
	"slices"
	"strings"
)

// promQLUse is what one PromQL expression reads: its vector selectors and
// its aggregations' groupings.
type promQLUse struct {
	selectors    []selector
	aggregations []aggregation
}

// selector is one vector selector: a metric name and the label names its
// matchers test.
type selector struct {
	name   string
	labels []string
}

// aggregation is an aggregation's by or without labels and the metric
// names of the selectors it aggregates (nested ones included).
type aggregation struct {
	op       string
	grouping []string
	names    []string
}

// promQLAggregators are PromQL's aggregation operators.
var promQLAggregators = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
	"bottomk", "topk", "quantile", "limitk", "limit_ratio"}

// promQLFunctions are PromQL's functions.
var promQLFunctions = []string{"abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
	"avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time",
	"day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "double_exponential_smoothing",
	"exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
	"histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "info", "irate", "label_join",
	"label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute",
	"month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round",
	"scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt",
	"stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year"}

// promQLKeywords are PromQL's words that are neither metric names nor
// functions: binary operators, modifiers and grouping clauses.
var promQLKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
	"group_left", "group_right", "atan2", "inf", "nan"}

type tokenKind int

const (
	tokIdent tokenKind = iota
	tokString
	tokNumber
	tokPunct
)

type token struct {
	kind tokenKind
	text string
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// tokenize splits a PromQL expression into identifiers, strings, numbers
// (durations such as 5m included) and punctuation.
func tokenize(expr string) ([]token, error) {
	var out []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // a comment runs to the end of the line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, token{tokString, expr[i+1 : j]})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(expr) && (isIdentPart(expr[j]) || expr[j] == '.') {
				j++
			}
			out = append(out, token{tokNumber, expr[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			out = append(out, token{tokIdent, expr[i:j]})
			i = j
		default:
			if i+1 < len(expr) && slices.Contains([]string{"=~", "!~", "!=", "==", ">=", "<="}, expr[i:i+2]) {
				out = append(out, token{tokPunct, expr[i : i+2]})
				i += 2
				continue
			}
			if !strings.ContainsRune("(){}[],+-*/%^<>=@", rune(c)) {
				return nil, fmt.Errorf("unexpected %q at %d", c, i)
			}
			out = append(out, token{tokPunct, string(c)})
			i++
		}
	}
	return out, nil
}

// promQLReader walks the tokens of one expression.
type promQLReader struct {
	toks []token
	i    int
	use  promQLUse
	open []openAggregation // aggregations whose arguments are being read
}

type openAggregation struct {
	index int // in use.aggregations
	depth int // the parenthesis depth of its arguments
}

func (r *promQLReader) peek(k int) token {
	if r.i+k < len(r.toks) {
		return r.toks[r.i+k]
	}
	return token{tokPunct, ""}
}

func (r *promQLReader) is(k int, text string) bool {
	t := r.peek(k)
	return t.kind == tokPunct && t.text == text
}

// labelList reads "( name, ... )".
func (r *promQLReader) labelList() ([]string, error) {
	if !r.is(0, "(") {
		return nil, fmt.Errorf("expected a label list after %q", r.peek(-1).text)
	}
	r.i++
	var labels []string
	for !r.is(0, ")") {
		t := r.peek(0)
		switch {
		case t.kind == tokIdent:
			labels = append(labels, t.text)
		case r.is(0, ","):
		default:
			return nil, fmt.Errorf("unexpected %q in a label list", t.text)
		}
		r.i++
		if r.i >= len(r.toks) {
			return nil, fmt.Errorf("unclosed label list")
		}
	}
	r.i++
	return labels, nil
}

// matchers reads "{ name op "value", ... }" and returns the label names.
func (r *promQLReader) matchers() ([]string, error) {
	r.i++ // {
	var labels []string
	for !r.is(0, "}") {
		name, op, value := r.peek(0), r.peek(1), r.peek(2)
		if name.kind != tokIdent || op.kind != tokPunct || !slices.Contains([]string{"=", "!=", "=~", "!~"}, op.text) || value.kind != tokString {
			return nil, fmt.Errorf("malformed label matcher at %q", name.text)
		}
		labels = append(labels, name.text)
		r.i += 3
		if r.is(0, ",") {
			r.i++
		} else if !r.is(0, "}") {
			return nil, fmt.Errorf("expected , or } after matcher %s", name.text)
		}
	}
	r.i++
	return labels, nil
}

// parsePromQL reads expr as far as the dashboard's test needs: which metric
// names it selects with which label matchers, and what its aggregations
// group by. It fails on unbalanced brackets, an unterminated string, a
// malformed matcher and a call of anything but a PromQL function.
func parsePromQL(expr string) (promQLUse, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return promQLUse{}, err
	}
	r := &promQLReader{toks: toks}
	depth := 0
	for r.i < len(r.toks) {
		t := r.peek(0)
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
			r.i++
		case t.kind == tokPunct && t.text == ")":
			if depth == 0 {
				return promQLUse{}, fmt.Errorf("unbalanced ) in %q", expr)
			}
			r.i++
			if n := len(r.open); n > 0 && r.open[n-1].depth == depth {
				agg := r.open[n-1]
				r.open = r.open[:n-1]
				if r.peek(0).kind == tokIdent && (r.peek(0).text == "by" || r.peek(0).text == "without") {
					r.i++
					if r.use.aggregations[agg.index].grouping, err = r.labelList(); err != nil {
						return promQLUse{}, err
					}
				}
			}
			depth--
		case t.kind == tokPunct && t.text == "[": // a range or subquery: durations only
			for r.i < len(r.toks) && !r.is(0, "]") {
				r.i++
			}
			if r.i == len(r.toks) {
				return promQLUse{}, fmt.Errorf("unclosed [ in %q", expr)
			}
			r.i++
		case t.kind == tokPunct && t.text == "{":
			return promQLUse{}, fmt.Errorf("a selector without a metric name in %q", expr)
		case t.kind == tokPunct && t.text == "}":
			return promQLUse{}, fmt.Errorf("unbalanced } in %q", expr)
		case t.kind == tokIdent:
			if err := r.ident(t.text, depth); err != nil {
				return promQLUse{}, fmt.Errorf("%w in %q", err, expr)
			}
		default:
			r.i++
		}
	}
	if depth != 0 {
		return promQLUse{}, fmt.Errorf("unbalanced ( in %q", expr)
	}
	return r.use, nil
}

// ident reads what starts at an identifier at paren depth depth.
func (r *promQLReader) ident(name string, depth int) error {
	switch {
	case slices.Contains(promQLAggregators, name) && (r.is(1, "(") || r.peek(1).text == "by" || r.peek(1).text == "without"):
		r.i++
		agg := aggregation{op: name}
		if r.peek(0).kind == tokIdent {
			r.i++
			var err error
			if agg.grouping, err = r.labelList(); err != nil {
				return err
			}
		}
		if !r.is(0, "(") {
			return fmt.Errorf("expected ( after %s", name)
		}
		r.use.aggregations = append(r.use.aggregations, agg)
		r.open = append(r.open, openAggregation{index: len(r.use.aggregations) - 1, depth: depth + 1})
	case name == "on" || name == "ignoring" || name == "group_left" || name == "group_right":
		r.i++
		if r.is(0, "(") {
			if _, err := r.labelList(); err != nil {
				return err
			}
		}
	case r.is(1, "("):
		if !slices.Contains(promQLFunctions, name) && !slices.Contains(promQLAggregators, name) {
			return fmt.Errorf("unknown function %s", name)
		}
		r.i++
	case name == "offset":
		r.i += 2
	case slices.Contains(promQLKeywords, name):
		r.i++
	default:
		r.i++
		sel := selector{name: name}
		if r.is(0, "{") {
			var err error
			if sel.labels, err = r.matchers(); err != nil {
				return err
			}
		}
		r.use.selectors = append(r.use.selectors, sel)
		for _, o := range r.open {
			a := &r.use.aggregations[o.index]
			a.names = append(a.names, name)
		}
	}
	return nil
}
