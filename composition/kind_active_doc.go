package composition

import (
	"encoding/json"
	"strings"
	"time"
)

// KindActiveDoc is the kind of ActiveDocs.
const KindActiveDoc Kind = "active_docs"

// ActiveDoc is an OpenAPI document, optionally bound to a service.
type ActiveDoc struct {
	ID                     int64     `json:"id" wire:"ro"`
	ServiceID              int64     `json:"service_id" wire:"omitempty"`
	Name                   string    `json:"name"`
	SystemName             string    `json:"system_name"`
	Description            string    `json:"description"`
	Published              bool      `json:"published"`
	SkipSwaggerValidations bool      `json:"skip_swagger_validations"`
	Body                   string    `json:"body"`
	CreatedAt              time.Time `json:"created_at" wire:"ro"`
	UpdatedAt              time.Time `json:"updated_at" wire:"ro"`
}

func (e *ActiveDoc) Key() int64                     { return e.ID }
func (e *ActiveDoc) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *ActiveDoc) created() time.Time             { return e.CreatedAt }
func (*ActiveDoc) info() kindInfo                   { return activeDocDef }

var activeDocDef = &kindDef[ActiveDoc, *ActiveDoc]{
	Kind:     KindActiveDoc,
	Table:    func(c *Composition) *Table[*ActiveDoc] { return &c.ActiveDocs },
	Document: func(d *Document) *[]*ActiveDoc { return &d.ActiveDocs },
	Prepare: func(_ *Composition, d, old *ActiveDoc) error {
		if old == nil {
			d.SystemName = defaultStr(d.SystemName, SystemName(d.Name))
		} else {
			d.SystemName = old.SystemName
		}
		return nil
	},
	Validate: validateActiveDoc,
	Import: func(d *ActiveDoc, ref func(string, int64) int64) {
		d.ServiceID = ref("service_id", d.ServiceID)
	},
}

func validateActiveDoc(c *Composition, d *ActiveDoc) error {
	v := &ValidationError{}
	name(v, "name", d.Name)
	systemName(v, d.SystemName)
	if _, dup := c.ActiveDocs.Find(func(o *ActiveDoc) bool { return o.SystemName == d.SystemName && o.ID != d.ID }); dup {
		v.Add("system_name", taken)
	}
	if d.ServiceID != 0 {
		if _, ok := c.Services.Get(d.ServiceID); !ok {
			v.Add("service_id", "does not exist")
		}
	}
	validateSpecBody(v, d)
	return v.Err()
}

func validateSpecBody(v *ValidationError, d *ActiveDoc) {
	if strings.TrimSpace(d.Body) == "" {
		v.Add("body", blank)
		return
	}
	if len(d.Body) > 4<<20 {
		v.Add("body", "is too long (at most 4 MiB)")
		return
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(d.Body), &doc); err != nil {
		v.Add("body", "must be a JSON object: "+err.Error())
		return
	}
	if d.SkipSwaggerValidations {
		return
	}
	_, swagger := doc["swagger"]
	_, openapi := doc["openapi"]
	if !swagger && !openapi {
		v.Add("body", "is not a Swagger or OpenAPI document (no swagger or openapi field)")
	}
}
