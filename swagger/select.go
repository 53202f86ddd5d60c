package swagger

import (
	"errors"
	"fmt"
	"strings"
)

// NotIncluded is Decision.Rule for an operation that no include rule
// matched.
const NotIncluded = "(no include matches)"

// Selection is a set of include and omit rules. Includes apply first (no
// include means every operation), then omits.
type Selection struct{ Include, Omit []Rule }

// ParseSelection parses include and omit rules. An error names the rule and
// what is wrong with it.
func ParseSelection(include, omit []string) (Selection, error) {
	var sel Selection
	for _, s := range include {
		r, err := ParseRule(s)
		if err != nil {
			return Selection{}, fmt.Errorf("include %w", err)
		}
		sel.Include = append(sel.Include, r)
	}
	for _, s := range omit {
		r, err := ParseRule(s)
		if err != nil {
			return Selection{}, fmt.Errorf("omit %w", err)
		}
		sel.Omit = append(sel.Omit, r)
	}
	return sel, nil
}

// Decision says whether an operation is kept, and which rule decided.
type Decision struct {
	Operation Operation
	Kept      bool
	Rule      string // the rule that decided ("" when kept because there are no includes; NotIncluded when no include matched)
}

// Selected is a spec with a selection applied. It is immutable and safe for
// concurrent use.
type Selected struct {
	decisions []Decision
	kept      []Operation
	document  []byte
	routes    *Routes
}

// Select applies sel: includes first (none = all), then omits. A rule that
// matches no operation of the spec at all is an error, as it is most likely
// a typing mistake.
func (s *Spec) Select(sel Selection) (*Selected, error) {
	if err := s.checkRules(sel); err != nil {
		return nil, err
	}
	out := &Selected{decisions: make([]Decision, len(s.ops))}
	for i, op := range s.ops {
		d := Decision{Operation: op, Kept: true}
		if len(sel.Include) > 0 {
			d.Kept, d.Rule = false, NotIncluded
			for _, r := range sel.Include {
				if r.Matches(op) {
					d.Kept, d.Rule = true, r.String()
					break
				}
			}
		}
		if d.Kept {
			for _, r := range sel.Omit {
				if r.Matches(op) {
					d.Kept, d.Rule = false, r.String()
					break
				}
			}
		}
		out.decisions[i] = d
		if d.Kept {
			out.kept = append(out.kept, op)
		}
	}
	doc, err := s.filter(out.decisions)
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	out.document = doc
	out.routes = newRoutes(s.basePath, out.decisions)
	return out, nil
}

func (s *Spec) checkRules(sel Selection) error {
	var errs []error
	check := func(what string, rules []Rule) {
		for _, r := range rules {
			if r.kind == 0 {
				errs = append(errs, fmt.Errorf("%s rule: empty", what))
				continue
			}
			if !s.anyMatch(r) {
				errs = append(errs, fmt.Errorf("%s rule %q matches no operation of the spec%s", what, r.String(), s.hint(r)))
			}
		}
	}
	check("include", sel.Include)
	check("omit", sel.Omit)
	return errors.Join(errs...)
}

func (s *Spec) anyMatch(r Rule) bool {
	for _, op := range s.ops {
		if r.Matches(op) {
			return true
		}
	}
	return false
}

// hint suggests a tag or operationId that differs from the rule's only in
// case.
func (s *Spec) hint(r Rule) string {
	for _, op := range s.ops {
		switch r.kind {
		case ruleTag:
			for _, t := range op.Tags {
				if strings.EqualFold(t, r.name) {
					return fmt.Sprintf(" (did you mean tag:%s?)", quoteName(t))
				}
			}
		case ruleOp:
			if strings.EqualFold(op.ID, r.name) {
				return fmt.Sprintf(" (did you mean op:%s?)", quoteName(op.ID))
			}
		}
	}
	return ""
}

// Decisions returns one decision per operation, in Spec.Operations order.
func (s *Selected) Decisions() []Decision {
	out := make([]Decision, len(s.decisions))
	copy(out, s.decisions)
	return out
}

// Kept returns the kept operations, in Spec.Operations order.
func (s *Selected) Kept() []Operation {
	out := make([]Operation, len(s.kept))
	copy(out, s.kept)
	return out
}

// Document returns the filtered spec as indented JSON: the kept operations
// only, with the components, definitions, security schemes and tags that
// nothing kept uses any more dropped. It is valid and parses with Parse. The
// caller must not modify it.
func (s *Selected) Document() []byte { return s.document }

// Routes returns the route table of every operation of the spec, kept and
// omitted.
func (s *Selected) Routes() *Routes { return s.routes }
