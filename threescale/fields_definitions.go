package threescale

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/portolan/portolan/composition"
)

// Fields Definitions: the extra fields the provider defines for accounts,
// users and applications (target Cinstance). JSON only, as 3scale serves
// them; listed whole, by position within the provider. Portolan has no
// developer portal, so they shape no form: they are stored and answered.

type fieldsDefinitions = collection[composition.FieldsDefinition, *composition.FieldsDefinition]

func (a *API) fieldsDefinitionRoutes() []Route {
	col := &fieldsDefinitions{
		kind:  composition.KindFieldsDefinition,
		names: fixedNames("fields_definition", "fields_definitions"),
		table: func(c *composition.Composition) *composition.Table[*composition.FieldsDefinition] {
			return &c.FieldsDefs
		},
		// A definition always lists its choices, [] when it has none.
		prepare: func(_ *call, _ *composition.Tx, n, _ *composition.FieldsDefinition) error {
			if n.Choices == nil {
				n.Choices = []string{}
			}
			return nil
		},
		order: func(fs []*composition.FieldsDefinition) {
			slices.SortStableFunc(fs, func(a, b *composition.FieldsDefinition) int { return cmp.Compare(a.Position, b.Position) })
		},
		unpaged: true,
	}
	const tag, base = "Fields Definitions", "/admin/api/fields_definitions"
	member := base + "/{id}"
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "Fields Definitions List", handle: col.list},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "Fields Definition Create", Status: http.StatusCreated, handle: col.create},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: "Fields Definition Read", handle: col.read("id")},
		{Method: http.MethodPut, Path: member, Tag: tag, Summary: "Fields Definition Update", handle: col.update("id")},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: "Fields Definition Delete", handle: col.remove("id")},
	}
}
