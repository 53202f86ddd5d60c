package composition

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A mapping rule maps requests matching its pattern to usage of one of its
// owner's metrics; without a position it goes after its owner's other rules.
var mappingRuleDef = &kindDef[MappingRule, *MappingRule]{
	Kind:     KindMappingRule,
	Table:    func(c *Composition) *Table[*MappingRule] { return &c.MappingRules },
	Document: func(d *Document) *[]*MappingRule { return &d.MappingRules },
	Parent:   func(r *MappingRule) int64 { return r.OwnerID },
	Keep:     func(r, old *MappingRule) { r.OwnerType, r.OwnerID = old.OwnerType, old.OwnerID },
	Prepare: func(c *Composition, r, old *MappingRule) error {
		r.HTTPMethod = strings.ToUpper(r.HTTPMethod)
		if old == nil && r.Position == 0 {
			// Services and backend APIs take ids of one sequence: the
			// rules under the owner's id are the owner's. After the last
			// of them, not at their count: positions may have gaps.
			for _, o := range c.MappingRules.Under(r.OwnerID) {
				r.Position = max(r.Position, o.Position)
			}
			r.Position = AddSaturating(r.Position, 1)
		}
		return nil
	},
	Validate: validateMappingRule,
	Import: func(r *MappingRule, ref refFunc) {
		r.OwnerID, r.MetricID = ref("owner_id", r.OwnerID), ref("metric_id", r.MetricID)
	},
	// A rule is named by what it matches and counts: two equal rules take
	// ordinals.
	NaturalKey: func(x *keyIndex, r *MappingRule) (string, string, error) {
		owner, err := x.ref("owner_id", r.OwnerID)
		if err != nil {
			return "", "", err
		}
		metric, err := x.ref("metric_id", r.MetricID)
		if err != nil {
			return "", "", err
		}
		name := r.HTTPMethod + " " + r.Pattern + " " + strings.TrimPrefix(metric, owner+"/")
		return childKey(owner, "mapping_rule", name), owner, nil
	},
}

func validateMappingRule(c *Composition, r *MappingRule, v *ValidationError) error {
	if !c.ownerExists(r.OwnerType, r.OwnerID) {
		v.Add("owner_id", "does not exist")
		return nil
	}
	if m, ok := c.Metrics.Get(r.MetricID); !ok || m.OwnerType != r.OwnerType || m.OwnerID != r.OwnerID {
		v.Add("metric_id", "does not exist")
	}
	if !ValidHTTPMethod(r.HTTPMethod) {
		v.Add("http_method", notIncluded)
	}
	if r.Pattern == "" {
		v.Add("pattern", blank)
	} else if _, err := ParsePattern(r.Pattern); err != nil {
		v.Add("pattern", err.Error())
	} else if n := utf8.RuneCountInString(r.Pattern); n > rulePortaPatternLen {
		v.Add("pattern", fmt.Sprintf("is too long (maximum is %d characters)", rulePortaPatternLen))
	} else if RepeatsName(r.Pattern) {
		v.Add("pattern", "Can't have repeated variable names")
	}
	if r.Delta <= 0 {
		v.Add("delta", "must be greater than 0")
	}
	if r.Position < 0 {
		v.Add("position", "must be greater than or equal to 0")
	}
	return nil
}
