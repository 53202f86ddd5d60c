package composition

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSpecVersionReadsTheFirstVersionFieldAs3scaleDoes(t *testing.T) {
	for body, want := range map[string]string{
		`{}`:                                  "1.0",
		`{"basePath":"x","apis":[]}`:          "1.0",
		`{"swaggerVersion":"1.1"}`:            "1.0",
		`{"swaggerVersion":"1.2"}`:            "1.2",
		`{"swagger":"2.0"}`:                   "2.0",
		`{"swagger":2.0}`:                     "", // a number reads as "2", no major.minor
		`{"openapi":"3.0.3","swagger":"2.0"}`: "3.0",
		`{"openapi":"3.1.0"}`:                 "3.1",
		`{"openapi":"3.2.0"}`:                 "",
		`{"openapi":"4.0"}`:                   "",
		`{"openapi":null,"swagger":"2.0"}`:    "1.0", // the first field present wins
		`{"swagger":"2"}`:                     "",
	} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		got, _ := specVersion(doc)
		assert.Equal(t, want, got, "version of %s", body)
	}
}

func TestValidateSpecHoldsEachVersionToWhat3scaleChecks(t *testing.T) {
	for _, tc := range []struct {
		body  string
		skip  bool
		field string // "" for valid
		msg   string
	}{
		{body: `{"apis":[null],"basePath":"http://www.example.com"}`},
		{body: `{"apis":[{}],"basePath":"http://google"}`},
		{body: `{"apis":[{}],"basePath":"HTTP://EXAMPLE.NET"}`},
		{body: `{"apis":"panda"}`, field: "body", msg: msgInvalidSwagger},
		{body: `YOLO`, field: "body", msg: msgInvalidJSON},
		{body: `YOLO`, skip: true},
		{body: `{}`, skip: true},
		{body: `{"apis":[{}],"basePath":"http:/www.google.com"}`, field: "base_path", msg: invalidFormat},
		{body: `{"apis":[{}],"basePath":"google.com"}`, field: "base_path", msg: invalidFormat},
		{body: `{"apis":[{}],"basePath":"ssh://google.com"}`, skip: true, field: "base_path", msg: invalidFormat},
		{body: `{"swagger":"2.0","schemes":["ftp"],"host":"example.com"}`, field: "base_path", msg: invalidFormat},
		{body: `{"swagger":"2.0","schemes":["https"],"host":"example.com"}`},
		{body: `{"swagger":"2.0"}`},
		{body: `{"openapi":"3.0.0","servers":[{"url":"/v1"}]}`},
		{body: `{"swaggerVersion":"1.2","basePath":"https://a.example.com","apis":[]}`},
		{body: `{"swaggerVersion":"1.2","apis":[]}`, field: "body",
			msg: "The property '#/' did not contain a required property of 'basePath' in schema " + swagger12Schema},
		{body: `{"swaggerVersion":"1.2","basePath":"ftp://a.example.com","apis":[]}`, field: "body",
			msg: `The property '#/basePath' value "ftp://a.example.com" did not match the regex '^https?://' in schema ` + swagger12Schema},
		{body: `{"swaggerVersion":"1.2","basePath":"https://a.example.com","apis":{}}`, field: "body",
			msg: "The property '#/apis' of type object did not match the following type: array in schema " + swagger12Schema},
		{body: `{"swaggerVersion":"1.2","basePath":"https://a.example.com","apis":[{"path":"/x","operations":[` +
			`{"method":"FETCH","nickname":"x","type":"void","parameters":[]}]}]}`, field: "body",
			msg: `The property '#/apis/0/operations/0/method' value "FETCH" did not match one of the following values: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS in schema ` + swagger12Schema},
		{body: `{"swaggerVersion":"1.2","basePath":"https://a.example.com","apis":[{"path":"/x","operations":[` +
			`{"method":"GET","nickname":"x","parameters":[]}]}]}`, field: "body",
			msg: "The property '#/apis/0/operations/0' of type object did not match any of the required schemas in schema " + swagger12Schema},
		{body: `{"swaggerVersion":"1.2","basePath":"https://a.example.com","apis":[{"path":"/x","operations":[` +
			`{"method":"GET","nickname":"x","type":"void","parameters":[{"name":"q","type":"string","paramType":"cookie"}]}]}]}`, field: "body",
			msg: `The property '#/apis/0/operations/0/parameters/0/paramType' value "cookie" did not match one of the following values: path, query, body, header, form in schema ` + swagger12Schema},
	} {
		v := &ValidationError{}
		validateSpec(v, tc.body, tc.skip)
		if tc.field == "" {
			assert.True(t, v.Empty(), "%s (skip %v): want valid, got %v", tc.body, tc.skip, v.Fields)
			continue
		}
		assert.Contains(t, v.Fields[tc.field], tc.msg, "%s (skip %v): %v", tc.body, tc.skip, v.Fields)
	}
}
