package composition

import (
	"strings"
)

// An ActiveDoc is a Swagger or OpenAPI document, bound to a service or not;
// deleting the service unbinds it (cascadeService).
var activeDocDef = &kindDef[ActiveDoc, *ActiveDoc]{
	Kind:     KindActiveDoc,
	Table:    func(c *Composition) *Table[*ActiveDoc] { return &c.ActiveDocs },
	Document: func(d *Document) *[]*ActiveDoc { return &d.ActiveDocs },
	Keep:     func(d, old *ActiveDoc) { d.SystemName = old.SystemName },
	Prepare: func(_ *Composition, d, old *ActiveDoc) error {
		if old == nil {
			d.SystemName = defaultStr(d.SystemName, SystemName(d.Name))
		}
		return nil
	},
	Validate: validateActiveDoc,
	Import: func(d *ActiveDoc, ref refFunc) {
		d.ServiceID = ref("service_id", d.ServiceID)
	},
}

func validateActiveDoc(c *Composition, d *ActiveDoc, v *ValidationError) error {
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
	return nil
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
	validateSpec(v, d.Body, d.SkipSwaggerValidations) // activedoc_spec.go
}
