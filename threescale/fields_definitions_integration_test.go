package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

type fieldsDefinitionJSON struct {
	FieldsDefinition struct {
		ID        int64    `json:"id"`
		Target    string   `json:"target"`
		Name      string   `json:"name"`
		Label     string   `json:"label"`
		Required  bool     `json:"required"`
		Hidden    bool     `json:"hidden"`
		ReadOnly  bool     `json:"read_only"`
		Choices   []string `json:"choices"`
		Position  int      `json:"position"`
		CreatedAt string   `json:"created_at"`
		UpdatedAt string   `json:"updated_at"`
	} `json:"fields_definition"`
}

func TestFieldsDefinitionsLifecycleAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const base = "/admin/api/fields_definitions"

	var list struct {
		FieldsDefinitions []fieldsDefinitionJSON `json:"fields_definitions"`
	}
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.FieldsDefinitions)

	code, body := rawCall(t, co, http.MethodPost, base+".json", "application/x-www-form-urlencoded",
		"target=Account&name=vat_code&label=VAT+code&required=true&choices%5B%5D=ES&choices%5B%5D=FR")
	require.Equal(t, http.StatusCreated, code, "%s", body)
	var vat fieldsDefinitionJSON
	require.NoError(t, json.Unmarshal(body, &vat))
	f := vat.FieldsDefinition
	assert.Equal(t, "Account", f.Target)
	assert.Equal(t, "vat_code", f.Name)
	assert.Equal(t, "VAT code", f.Label)
	assert.True(t, f.Required)
	assert.Equal(t, []string{"ES", "FR"}, f.Choices)
	assert.Equal(t, 1, f.Position, "first of its target")
	recentTime(t, f.CreatedAt)
	recentTime(t, f.UpdatedAt)
	var raw map[string]map[string]any
	require.NoError(t, json.Unmarshal(body, &raw))
	assert.Len(t, raw["fields_definition"], 11, "porta's representer: %s", body)

	// Another of the same target goes after it; one of another target
	// starts its own count. No choices render as [].
	var phone, age fieldsDefinitionJSON
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"target": {"Account"}, "name": {"phone"}, "label": {"Phone"}},
		http.StatusCreated, &phone)
	assert.Equal(t, 2, phone.FieldsDefinition.Position)
	assert.Equal(t, []string{}, phone.FieldsDefinition.Choices)
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"target": {"User"}, "name": {"age"}, "label": {"Age"}},
		http.StatusCreated, &age)
	assert.Equal(t, 1, age.FieldsDefinition.Position)

	// 3scale's validations.
	for _, tc := range []struct {
		form  url.Values
		field string
		msg   string
	}{
		{url.Values{"target": {"Account"}, "name": {"vat_code"}, "label": {"Again"}}, "name", "has already been taken"},
		{url.Values{"target": {"Account"}, "name": {"1st"}, "label": {"First"}}, "name", "Name should start with letters, and can contain numbers, - and _"},
		{url.Values{"target": {"Widget"}, "name": {"color"}, "label": {"Color"}}, "target", "can't be blank"},
		{url.Values{"name": {"color"}, "label": {"Color"}}, "target", "can't be blank"},
		{url.Values{"target": {"User"}, "name": {"color"}}, "label", "can't be blank"},
		{url.Values{"target": {"User"}, "name": {"color"}, "label": {"Color"}, "required": {"true"}, "hidden": {"true"}},
			"required", "Fields cannot be required AND hidden/read_only"},
	} {
		status, body := formCall(t, co, http.MethodPost, base+".json", tc.form)
		assert.Contains(t, fieldErrors(t, status, body)[tc.field], tc.msg, "%v", tc.form)
	}
	// The same name under another target is another field.
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"target": {"Cinstance"}, "name": {"vat_code"}, "label": {"VAT"}},
		http.StatusCreated, &fieldsDefinitionJSON{})

	// Read; update changes label and flags but never target nor name.
	member := base + "/" + s64(f.ID) + ".json"
	var got fieldsDefinitionJSON
	decodeCall(t, co, http.MethodGet, member, nil, http.StatusOK, &got)
	assert.Equal(t, vat, got)
	decodeCall(t, co, http.MethodPut, member, url.Values{"target": {"User"}, "name": {"renamed"}, "label": {"VAT number"},
		"required": {"false"}, "read_only": {"true"}, "position": {"5"}}, http.StatusOK, &got)
	assert.Equal(t, "Account", got.FieldsDefinition.Target)
	assert.Equal(t, "vat_code", got.FieldsDefinition.Name)
	assert.Equal(t, "VAT number", got.FieldsDefinition.Label)
	assert.True(t, got.FieldsDefinition.ReadOnly)
	assert.Equal(t, 5, got.FieldsDefinition.Position)

	// The list is by position.
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list.FieldsDefinitions, 4)
	assert.Equal(t, f.ID, list.FieldsDefinitions[3].FieldsDefinition.ID, "position 5 goes last")

	// JSON only, as 3scale.
	status, _ := formCall(t, co, http.MethodGet, base+".xml", nil)
	assert.Equal(t, http.StatusNotFound, status)

	status, _ = formCall(t, co, http.MethodDelete, member, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodGet, member, nil)
	assert.Equal(t, http.StatusNotFound, status)
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Len(t, list.FieldsDefinitions, 3)
}
