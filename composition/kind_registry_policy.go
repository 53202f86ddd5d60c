package composition

import (
	"encoding/json"
	"time"
)

// KindRegistryPolicy is the kind of custom policies in the policy registry.
const KindRegistryPolicy Kind = "registry_policies"

// RegistryPolicy is a custom APIcast policy in the policy registry.
type RegistryPolicy struct {
	ID        int64           `json:"id" wire:"ro"`
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Schema    json.RawMessage `json:"schema"`
	CreatedAt time.Time       `json:"created_at" wire:"ro"`
	UpdatedAt time.Time       `json:"updated_at" wire:"ro"`
}

func (e *RegistryPolicy) Key() int64 { return e.ID }
func (e *RegistryPolicy) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *RegistryPolicy) created() time.Time { return e.CreatedAt }
func (*RegistryPolicy) info() kindInfo       { return registryPolicyDef }

var registryPolicyDef = &kindDef[RegistryPolicy, *RegistryPolicy]{
	Kind:     KindRegistryPolicy,
	Table:    func(c *Composition) *Table[*RegistryPolicy] { return &c.RegistryPolicies },
	Document: func(d *Document) *[]*RegistryPolicy { return &d.RegistryPolicies },
	Validate: func(c *Composition, p *RegistryPolicy) error {
		v := &ValidationError{}
		name(v, "name", p.Name)
		name(v, "version", p.Version)
		if _, dup := c.RegistryPolicies.Find(func(o *RegistryPolicy) bool {
			return o.Name == p.Name && o.Version == p.Version && o.ID != p.ID
		}); dup {
			v.Add("version", taken)
		}
		if !isJSONObject(p.Schema) {
			v.Add("schema", "must be a JSON object")
		}
		return v.Err()
	},
}
