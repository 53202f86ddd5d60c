package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The toolbox's own sample ActiveDoc (its integration suite's
// create_activedocs): an ActiveDocs 1.0 spec, basePath, apiVersion and apis
// and no version field, which 3scale stores.
const toolboxActiveDocsSample = `{"basePath":"https://hello-world-api.3scale.net","apiVersion":"v1",` +
	`"apis":[{"path":"/","operations":[{"httpMethod":"GET","summary":"Say Hello!",` +
	`"description":"<p>This operation says hello.</p>","group":"words","parameters":[{"name":"user_key",` +
	`"description":"Your API access key","dataType":"string","paramType":"query","threescale_name":"user_keys"}]}]}]}`

// A Swagger 1.2 API declaration that holds to its schema.
const swagger12Spec = `{"swaggerVersion":"1.2","apiVersion":"0.1","basePath":"https://api.example.com",` +
	`"resourcePath":"/datasets","apis":[{"path":"/datasets/{alias}","operations":[{"method":"DELETE",` +
	`"nickname":"removeAlias","type":"void","summary":"Remove a dataset alias","parameters":[` +
	`{"paramType":"path","name":"alias","type":"string","required":true,"allowMultiple":false}]}]}]}`

func TestActiveDocsTakeSwagger10And12SpecsAs3scaleDoes(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	serviceID := createProduct(t, cl, "Legacy documented", nil)

	// What the toolbox sends (form parameters, as the 3scale-api gem does).
	status, body := formCall(t, co, http.MethodPost, "/admin/api/active_docs.json", url.Values{
		"name": {"myActiveDocs"}, "system_name": {"myActiveDocs" + s64(serviceID)}, "service_id": {s64(serviceID)},
		"body": {toolboxActiveDocsSample}, "description": {"some description"},
	})
	require.Equal(t, http.StatusCreated, status, "an ActiveDocs 1.0 spec is stored by 3scale: %s", body)
	var created client.ActiveDoc
	require.NoError(t, json.Unmarshal(body, &created))
	assert.Equal(t, toolboxActiveDocsSample, *created.Element.Body)
	got, err := cl.ActiveDoc(*created.Element.ID)
	require.NoError(t, err)
	assert.Equal(t, toolboxActiveDocsSample, *got.Element.Body)

	str := func(s string) *string { return &s }
	for name, spec := range map[string]string{
		"Swagger 1.2": swagger12Spec,
		// 3scale reads a version below 1.2 as ActiveDocs 1.0.
		"Swagger 1.1": `{"swaggerVersion":"1.1","basePath":"https://api.example.com","apis":[]}`,
		"no basePath": `{"apis":[null]}`,
	} {
		doc, err := cl.CreateActiveDoc(&client.ActiveDoc{Element: client.ActiveDocItem{Name: str(name), Body: str(spec)}})
		require.NoError(t, err, name)
		assert.Equal(t, spec, *doc.Element.Body, name)
	}

	// What 3scale refuses, with its messages.
	refused := func(body, field, want string) {
		t.Helper()
		status, answer := rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
			`{"name":"Refused","body":`+jsonQuote(body)+`}`)
		errs := fieldErrors(t, status, answer)
		assert.Contains(t, errs[field], want, "body %s", body)
	}
	refused(`{}`, "body", "JSON Spec is invalid")
	refused(`{"apis":"panda"}`, "body", "JSON Spec is invalid")
	refused(`[1, 2]`, "body", "JSON Spec is invalid")
	refused(`YOLO`, "body", "Invalid JSON")
	refused(`{"basePath":"http://example.com","apis":[{"path":"/p","operations":[{"httpMethod":"POST",`+
		`"parameters":[{"name":"page","paramType":"query"},{"name":"file","paramType":"body"}]}]}]}`,
		"body", "JSON Spec is invalid: an operation may not have both query and body parameters (paramType)")
	refused(`{"apis":[],"basePath":"ftp://ftp.example.com"}`, "base_path", "is invalid")
	refused(`{"apis":[],"basePath":"www.example.com"}`, "base_path", "is invalid")
	refused(`{"swaggerVersion":"1.2","basePath":"https://api.example.com","apis":[{"path":"/x","operations":[{"method":"GET","type":"void","parameters":[]}]}]}`,
		"body", "The property '#/apis/0/operations/0' did not contain a required property of 'nickname' in schema http://swagger-api.github.io/schemas/v1.2/apiDeclaration.json#")
	refused(`{"swaggerVersion":"1.2","basePath":"https://api.example.com","apis":[],"info":{}}`,
		"body", `The property '#/' contains additional properties ["info"] outside of the schema when none are allowed in schema http://swagger-api.github.io/schemas/v1.2/apiDeclaration.json#`)
	status, answer := rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"name":"Future","body":"{\"openapi\":\"4.0.0\",\"paths\":{}}"}`)
	assert.Contains(t, fieldErrors(t, status, answer), "body", "3scale refuses versions it does not know")

	// skip_swagger_validations skips the spec's checks, JSON included, but
	// not its base path.
	status, answer = rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json",
		`{"name":"Unchecked","skip_swagger_validations":true,"body":"YOLO"}`)
	require.Equal(t, http.StatusCreated, status, "%s", answer)
	refused2 := `{"name":"Unchecked base","skip_swagger_validations":true,"body":` + jsonQuote(`{"apis":[],"basePath":"ftp://x.example.com"}`) + `}`
	status, answer = rawCall(t, co, http.MethodPost, "/admin/api/active_docs.json", "application/json", refused2)
	assert.Contains(t, fieldErrors(t, status, answer), "base_path")
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
