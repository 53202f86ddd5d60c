package composition

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// What 3scale accepts as an ActiveDocs body, with 3scale's messages. A spec's
// version is the value of the first of openapi, swagger and swaggerVersion it
// has, cut to major.minor when it is 1.2 or later; anything else, no version
// field included, is an ActiveDocs 1.0 spec (basePath and apis, no version).
// 3scale takes 1.0, 1.2, 2.0, 3.0 and 3.1 and refuses other versions.
//
// Checked as 3scale does: a 1.0 spec needs an apis array and no operation
// mixing query and body parameters; a 1.2 spec is held to the structure of
// Swagger 1.2's apiDeclaration schema (the required members, their types,
// patterns and enums); 2.0 and 3.x specs are taken as they are (3scale runs
// their full JSON schemas; Portolan does not). skip_swagger_validations skips
// all of it, JSON included, but not the base path: when the spec names one
// (basePath, or a 2.0 spec's schemes and host) it must be an http, https, ws
// or wss URL with a host.

const (
	msgInvalidJSON    = "Invalid JSON"
	msgInvalidSwagger = "JSON Spec is invalid"
	swagger12Schema   = "http://swagger-api.github.io/schemas/v1.2/apiDeclaration.json#"
)

var (
	specFloatRE   = regexp.MustCompile(`^\s*[+-]?\d+(\.\d+)?`)
	specVersionRE = regexp.MustCompile(`^(\d+\.\d+)(\..+)?$`)
)

// specVersion is the version 3scale reads doc as: "1.0", "1.2", "2.0",
// "3.0", "3.1" or, for one it does not take, "" and the version found.
func specVersion(doc map[string]any) (version, found string) {
	for _, key := range []string{"openapi", "swagger", "swaggerVersion"} {
		v, ok := doc[key]
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			found = x
		case float64:
			found = strconv.FormatFloat(x, 'f', -1, 64)
		}
		break
	}
	f, _ := strconv.ParseFloat(strings.TrimSpace(specFloatRE.FindString(found)), 64)
	if f < 1.2 {
		return "1.0", found
	}
	m := specVersionRE.FindStringSubmatch(found)
	if m == nil {
		return "", found
	}
	switch m[1] {
	case "1.2", "2.0", "3.0", "3.1":
		return m[1], found
	}
	return "", found
}

// validateSpec checks body as 3scale does (see above).
func validateSpec(v *ValidationError, body string, skip bool) {
	var doc map[string]any
	valid := json.Valid([]byte(body))
	if valid {
		_ = json.Unmarshal([]byte(body), &doc) // not an object: an empty spec, as in 3scale
	}
	version, found := specVersion(doc)
	validateSpecBasePath(v, doc, version)
	if skip {
		return
	}
	switch {
	case !valid:
		v.Add("body", msgInvalidJSON)
	case version == "":
		v.Add("body", fmt.Sprintf("%s: version %q is not supported (3scale takes OpenAPI 3.0 and 3.1, Swagger 2.0 and 1.2, and ActiveDocs 1.0)", msgInvalidSwagger, found))
	case version == "1.0":
		validateSpec10(v, doc)
	case version == "1.2":
		for _, msg := range validateSpec12(doc) {
			v.Add("body", msg)
		}
	}
}

// validateSpecBasePath holds the base path a spec names to an http(s) or
// ws(s) URL with a host.
func validateSpecBasePath(v *ValidationError, doc map[string]any, version string) {
	var base string
	switch version {
	case "3.0", "3.1": // 3scale resolves servers; Portolan takes them as they are
	case "2.0":
		schemes, _ := doc["schemes"].([]any)
		host, _ := doc["host"].(string)
		if scheme, ok := firstOf(schemes).(string); ok && scheme != "" && host != "" {
			base = scheme + "://" + host
		}
	default:
		s, _ := doc["basePath"].(string)
		base = strings.ToLower(s)
	}
	if strings.TrimSpace(base) == "" {
		return
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "ws", "wss"}, u.Scheme) {
		v.Add("base_path", invalidFormat)
	}
}

func firstOf(xs []any) any {
	if len(xs) == 0 {
		return nil
	}
	return xs[0]
}

// validateSpec10 checks an ActiveDocs 1.0 spec: an apis array, and no
// operation with both query and body parameters.
func validateSpec10(v *ValidationError, doc map[string]any) {
	apis, ok := doc["apis"].([]any)
	if !ok {
		v.Add("body", msgInvalidSwagger)
		return
	}
	for _, api := range apis {
		a, _ := api.(map[string]any)
		ops, _ := a["operations"].([]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			params, _ := o["parameters"].([]any)
			var query, body bool
			for _, p := range params {
				pm, _ := p.(map[string]any)
				query = query || pm["paramType"] == "query"
				body = body || pm["paramType"] == "body"
			}
			if query && body {
				v.Add("body", msgInvalidSwagger+": an operation may not have both query and body parameters (paramType)")
				return
			}
		}
	}
}

// spec12 collects what a Swagger 1.2 spec breaks of its apiDeclaration
// schema, worded as 3scale's JSON schema validator words it.
type spec12 []string

func (s *spec12) add(path, format string, args ...any) {
	*s = append(*s, fmt.Sprintf("The property '%s' ", path)+fmt.Sprintf(format, args...)+" in schema "+swagger12Schema)
}

// jsonType names a decoded JSON value's type as JSON schema does.
func jsonType(x any) string {
	switch v := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// object checks x is an object with the required members and, when allowed
// is not nil, no others.
func (s *spec12) object(path string, x any, required, allowed []string) (map[string]any, bool) {
	m, ok := x.(map[string]any)
	if !ok {
		s.add(path, "of type %s did not match the following type: object", jsonType(x))
		return nil, false
	}
	if allowed != nil {
		var extra []string
		for k := range m {
			if !slices.Contains(allowed, k) {
				extra = append(extra, strconv.Quote(k))
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			s.add(path, "contains additional properties [%s] outside of the schema when none are allowed", strings.Join(extra, ", "))
		}
	}
	for _, r := range required {
		if _, ok := m[r]; !ok {
			s.add(path, "did not contain a required property of '%s'", r)
		}
	}
	return m, true
}

// member checks m[key], when present, is of type typ (and, for a string,
// matches pattern and is one of enum, when given).
func (s *spec12) member(path string, m map[string]any, key, typ, pattern string, enum ...string) {
	x, ok := m[key]
	if !ok {
		return
	}
	p := strings.TrimSuffix(path, "/") + "/" + key
	if len(enum) > 0 {
		if str, _ := x.(string); !slices.Contains(enum, str) || jsonType(x) != "string" {
			s.add(p, "value %s did not match one of the following values: %s", jsonText(x), strings.Join(enum, ", "))
		}
		return
	}
	if t := jsonType(x); t != typ && (typ != "number" || t != "integer") {
		s.add(p, "of type %s did not match the following type: %s", t, typ)
		return
	}
	if pattern != "" && !regexp.MustCompile(pattern).MatchString(x.(string)) {
		s.add(p, "value %s did not match the regex '%s'", jsonText(x), pattern)
	}
}

func jsonText(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// dataType checks the type-or-$ref rule of a 1.2 operation or parameter.
func (s *spec12) dataType(path string, m map[string]any) {
	_, typ := m["type"]
	_, ref := m["$ref"]
	switch {
	case !typ && !ref:
		s.add(path, "of type object did not match any of the required schemas")
	case typ && ref:
		s.add(path, "of type object matched more than one of the required schemas")
	}
}

// validateSpec12 checks doc against the structure of Swagger 1.2's
// apiDeclaration schema.
func validateSpec12(doc map[string]any) []string {
	var s spec12
	root, _ := s.object("#/", doc, []string{"swaggerVersion", "basePath", "apis"},
		[]string{"swaggerVersion", "apiVersion", "basePath", "resourcePath", "apis", "models", "produces", "consumes", "authorizations"})
	s.member("#/", root, "swaggerVersion", "", "", "1.2")
	s.member("#/", root, "apiVersion", "string", "")
	s.member("#/", root, "basePath", "string", "^https?://")
	s.member("#/", root, "resourcePath", "string", "^/")
	s.member("#/", root, "models", "object", "")
	s.member("#/", root, "produces", "array", "")
	s.member("#/", root, "consumes", "array", "")
	s.member("#/", root, "authorizations", "object", "")
	s.member("#/", root, "apis", "array", "")
	apis, _ := root["apis"].([]any)
	for i, api := range apis {
		ap := fmt.Sprintf("#/apis/%d", i)
		a, ok := s.object(ap, api, []string{"path", "operations"}, []string{"path", "description", "operations"})
		if !ok {
			continue
		}
		s.member(ap, a, "path", "string", "^/")
		s.member(ap, a, "description", "string", "")
		s.member(ap, a, "operations", "array", "")
		ops, _ := a["operations"].([]any)
		for j, op := range ops {
			validateSpec12Operation(&s, fmt.Sprintf("%s/operations/%d", ap, j), op)
		}
	}
	return s
}

func validateSpec12Operation(s *spec12, path string, op any) {
	o, ok := s.object(path, op, []string{"method", "nickname", "parameters"}, nil)
	if !ok {
		return
	}
	s.dataType(path, o)
	s.member(path, o, "method", "", "", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
	s.member(path, o, "nickname", "string", "^[a-zA-Z0-9_]+$")
	s.member(path, o, "summary", "string", "")
	if sum, ok := o["summary"].(string); ok && len([]rune(sum)) > 120 {
		s.add(path+"/summary", "was not of a maximum string length of 120")
	}
	s.member(path, o, "notes", "string", "")
	s.member(path, o, "parameters", "array", "")
	params, _ := o["parameters"].([]any)
	for k, p := range params {
		pp := fmt.Sprintf("%s/parameters/%d", path, k)
		pm, ok := s.object(pp, p, []string{"paramType", "name"}, nil)
		if !ok {
			continue
		}
		s.dataType(pp, pm)
		s.member(pp, pm, "paramType", "", "", "path", "query", "body", "header", "form")
		s.member(pp, pm, "name", "string", "")
		s.member(pp, pm, "description", "string", "")
		s.member(pp, pm, "required", "boolean", "")
		s.member(pp, pm, "allowMultiple", "boolean", "")
	}
}
