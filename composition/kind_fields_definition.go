package composition

import (
	"regexp"
	"slices"
	"time"
)

// KindFieldsDefinition is the kind of the provider's fields definitions
// (3scale's Fields Definitions API): the extra fields of accounts, users
// and applications.
const KindFieldsDefinition Kind = "fields_definitions"

// The entities a fields definition may extend, as 3scale names them
// (Cinstance is an application).
var FieldsTargets = []string{"Account", "User", "Cinstance"}

// FieldsDefinition is an extra field the provider defines for its
// developers' accounts, users or applications. Portolan has no developer
// portal: it stores and answers them as 3scale does.
type FieldsDefinition struct {
	ID        int64     `json:"id" wire:"ro"`
	Target    string    `json:"target"`
	Name      string    `json:"name"`
	Label     string    `json:"label"`
	Required  bool      `json:"required"`
	Hidden    bool      `json:"hidden"`
	ReadOnly  bool      `json:"read_only"`
	Choices   []string  `json:"choices"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

func (e *FieldsDefinition) Key() int64 { return e.ID }
func (e *FieldsDefinition) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *FieldsDefinition) created() time.Time { return e.CreatedAt }
func (*FieldsDefinition) info() kindInfo       { return fieldsDefinitionDef }

// fieldNameRE is 3scale's rule for a field name.
var fieldNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// A fields definition: target and name never change after creation (an
// update leaves them alone, as 3scale's read-only attributes); a new one
// goes last among its target's; its name is unique within its target.
var fieldsDefinitionDef = &kindDef[FieldsDefinition, *FieldsDefinition]{
	Kind:     KindFieldsDefinition,
	Table:    func(c *Composition) *Table[*FieldsDefinition] { return &c.FieldsDefs },
	Document: func(d *Document) *[]*FieldsDefinition { return &d.FieldsDefs },
	Keep:     func(f, old *FieldsDefinition) { f.Target, f.Name = old.Target, old.Name },
	Prepare: func(c *Composition, f, old *FieldsDefinition) error {
		if old == nil && f.Position == 0 {
			last := 0
			for _, o := range c.FieldsDefinitionsOf(f.Target) {
				last = max(last, o.Position)
			}
			f.Position = last + 1
		}
		return nil
	},
	Validate: validateFieldsDefinition,
}

func validateFieldsDefinition(c *Composition, f *FieldsDefinition, v *ValidationError) error {
	if f.Target == "" || !slices.Contains(FieldsTargets, f.Target) {
		v.Add("target", blank) // 3scale ignores an unknown target: then it is blank
	}
	name(v, "label", f.Label)
	name(v, "name", f.Name)
	if f.Name != "" && !fieldNameRE.MatchString(f.Name) {
		v.Add("name", "Name should start with letters, and can contain numbers, - and _")
	}
	if _, dup := c.FieldsDefs.Find(func(o *FieldsDefinition) bool {
		return o.Target == f.Target && o.Name == f.Name && o.ID != f.ID
	}); dup && f.Name != "" {
		v.Add("name", taken)
	}
	if f.Required && (f.Hidden || f.ReadOnly) {
		v.Add("required", "Fields cannot be required AND hidden/read_only")
	}
	size := 0
	for _, ch := range f.Choices {
		size += len(ch)
	}
	if size > maxTextLen {
		v.Add("choices", "is too long (maximum is 65535 characters)")
	}
	return nil
}

// FieldsDefinitionsOf returns the fields definitions of a target, in id
// order.
func (c *Composition) FieldsDefinitionsOf(target string) []*FieldsDefinition {
	return c.FieldsDefs.Filter(func(f *FieldsDefinition) bool { return f.Target == target })
}
