package composition

import (
	"strings"
	"time"
)

// KindMappingRule is the kind of mapping rules.
const KindMappingRule Kind = "mapping_rules"

// MappingRule maps a request (method, path pattern, query) to usage of a metric.
type MappingRule struct {
	ID         int64     `json:"id" wire:"ro"`
	OwnerType  string    `json:"owner_type" wire:"ro"`
	OwnerID    int64     `json:"owner_id" wire:"ro"`
	MetricID   int64     `json:"metric_id"`
	HTTPMethod string    `json:"http_method"`
	Pattern    string    `json:"pattern"`
	Delta      int64     `json:"delta"`
	Position   int64     `json:"position"`
	Last       bool      `json:"last"`
	CreatedAt  time.Time `json:"created_at" wire:"ro"`
	UpdatedAt  time.Time `json:"updated_at" wire:"ro"`
}

func (e *MappingRule) Key() int64                     { return e.ID }
func (e *MappingRule) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *MappingRule) created() time.Time             { return e.CreatedAt }
func (*MappingRule) info() kindInfo                   { return mappingRuleDef }

var mappingRuleDef = &kindDef[MappingRule, *MappingRule]{
	Kind:     KindMappingRule,
	Table:    func(c *Composition) *Table[*MappingRule] { return &c.MappingRules },
	Document: func(d *Document) *[]*MappingRule { return &d.MappingRules },
	Prepare: func(c *Composition, r, old *MappingRule) error {
		r.HTTPMethod = strings.ToUpper(r.HTTPMethod)
		if old != nil {
			r.OwnerType, r.OwnerID = old.OwnerType, old.OwnerID
		} else if r.Position == 0 {
			r.Position = int64(c.MappingRules.Count(func(o *MappingRule) bool {
				return o.OwnerType == r.OwnerType && o.OwnerID == r.OwnerID
			})) + 1
		}
		return nil
	},
	Validate: validateMappingRule,
	Import: func(r *MappingRule, ref func(string, int64) int64) {
		r.OwnerID, r.MetricID = ref("owner_id", r.OwnerID), ref("metric_id", r.MetricID)
	},
}

func validateMappingRule(c *Composition, r *MappingRule) error {
	v := &ValidationError{}
	if !c.ownerExists(r.OwnerType, r.OwnerID) {
		v.Add("owner_id", "does not exist")
		return v.Err()
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
	}
	if r.Delta <= 0 {
		v.Add("delta", "must be greater than 0")
	}
	if r.Position < 0 {
		v.Add("position", "must be greater than or equal to 0")
	}
	return v.Err()
}
