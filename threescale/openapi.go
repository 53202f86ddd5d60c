package threescale

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// The OpenAPI description of the API, generated from the route table at
// request time, so it always lists exactly what the router serves.

// OpenAPIVersion is the OpenAPI version of the generated description.
const OpenAPIVersion = "3.0.3"

func (a *API) openAPIRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/admin/api/openapi", Tag: "OpenAPI", Summary: "OpenAPI Description",
			handle: func(c *call) error {
				doc, err := OpenAPI(c.api.Routes())
				if err != nil {
					return err
				}
				Write(c.w, JSON, http.StatusOK, func(w io.Writer) error { _, err := w.Write(doc); return err })
				return nil
			}},
	}
}

var oaWildcard = regexp.MustCompile(`\{([^}]*)\}`)

// OpenAPIPath is the documented path of a route: its ServeMux wildcards as
// OpenAPI parameters ({name...} as {name}) and the format suffix 3scale uses,
// .json when the route answers JSON, else .xml.
func OpenAPIPath(rt Route) string {
	p := strings.ReplaceAll(rt.Path, "{$}", "")
	p = oaWildcard.ReplaceAllStringFunc(p, func(w string) string {
		return "{" + strings.TrimSuffix(w[1:len(w)-1], "...") + "}"
	})
	if rt.answers(JSON) {
		return p + ".json"
	}
	return p + ".xml"
}

var oaNonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// OpenAPIOperationID names a route's operation uniquely: its method and path.
func OpenAPIOperationID(rt Route) string {
	return strings.ToLower(rt.Method) + "_" + strings.Trim(oaNonWord.ReplaceAllString(rt.Path, "_"), "_")
}

// OpenAPI returns an OpenAPI 3.0 description of routes as JSON: one operation
// per route, with its tag, summary, path parameters, success status and the
// access token or Basic auth every route requires.
func OpenAPI(routes []Route) ([]byte, error) {
	paths := map[string]map[string]any{}
	tagSet := map[string]bool{}
	for _, rt := range routes {
		path := OpenAPIPath(rt)
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.Method)] = openAPIOperation(rt)
		if rt.Tag != "" {
			tagSet[rt.Tag] = true
		}
	}
	tags := []map[string]string{}
	for _, t := range sortedMapKeys(tagSet) {
		tags = append(tags, map[string]string{"name": t})
	}
	errorBody := map[string]any{"type": "object", "properties": map[string]any{
		"error": map[string]string{"type": "string"}, "status": map[string]string{"type": "string"},
	}}
	doc := map[string]any{
		"openapi": OpenAPIVersion,
		"info": map[string]any{
			"title":       "Portolan Account Management API",
			"description": "3scale-compatible Account Management API served by a Portolan coordinator. Generated from its route table.",
			"version":     "1.0",
		},
		"servers":  []map[string]string{{"url": "/"}},
		"security": []map[string][]string{{"access_token": {}}, {"provider_key": {}}, {"basic": {}}},
		"tags":     tags,
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"access_token": map[string]string{"type": "apiKey", "in": "query", "name": "access_token",
					"description": "A personal access token; also accepted as a body parameter."},
				"provider_key": map[string]string{"type": "apiKey", "in": "query", "name": "provider_key",
					"description": "The legacy name of the access token parameter."},
				"basic": map[string]string{"type": "http", "scheme": "basic",
					"description": "The access token as user or password."},
			},
			"schemas": map[string]any{
				"Error": errorBody,
				"ValidationErrors": map[string]any{"type": "object", "properties": map[string]any{
					"errors": map[string]any{"type": "object", "additionalProperties": map[string]any{
						"type": "array", "items": map[string]string{"type": "string"}}},
				}},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func openAPIOperation(rt Route) map[string]any {
	formats := rt.Formats
	if len(formats) == 0 {
		formats = []Format{JSON}
	}
	content := map[string]any{}
	names := []string{}
	for _, f := range formats {
		content[strings.Split(f.ContentType(), ";")[0]] = map[string]any{"schema": map[string]string{"type": "object"}}
		names = append(names, f.String())
	}
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	responses := map[string]any{}
	desc := http.StatusText(status)
	if status >= 400 {
		desc = "Not supported by Portolan"
	}
	responses[strconv.Itoa(status)] = map[string]any{"description": desc, "content": content}
	errRef := map[string]any{"application/json": map[string]any{"schema": map[string]string{"$ref": "#/components/schemas/Error"}}}
	responses["403"] = map[string]any{"description": "Access denied: missing or wrong access token", "content": errRef}
	var params []map[string]any
	for _, m := range oaWildcard.FindAllStringSubmatch(rt.Path, -1) {
		name := strings.TrimSuffix(m[1], "...")
		if name == "$" {
			continue
		}
		typ := "string"
		if name == "id" || strings.HasSuffix(name, "_id") || name == "version" {
			typ = "integer"
		}
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]string{"type": typ}})
	}
	if len(params) > 0 && status < 400 {
		responses["404"] = map[string]any{"description": "Not found", "content": errRef}
	}
	op := map[string]any{
		"operationId": OpenAPIOperationID(rt),
		"summary":     rt.Summary,
		"responses":   responses,
		"x-formats":   names,
	}
	if rt.Tag != "" {
		op["tags"] = []string{rt.Tag}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	switch rt.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		body := map[string]any{
			"application/x-www-form-urlencoded": map[string]any{"schema": map[string]string{"type": "object"}},
			"application/json":                  map[string]any{"schema": map[string]string{"type": "object"}},
		}
		if rt.answers(XML) {
			body["application/xml"] = map[string]any{"schema": map[string]string{"type": "object"}}
		}
		op["requestBody"] = map[string]any{"required": false, "content": body}
		if status < 400 {
			responses["422"] = map[string]any{"description": "Validation failed", "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]string{"$ref": "#/components/schemas/ValidationErrors"}}}}
		}
	}
	return op
}
