package threescale

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/portolan/portolan/composition"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newCodecRequest(method, target, contentType, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func mustReadParams(t *testing.T, r *http.Request) *Params {
	t.Helper()
	p, err := ReadParams(httptest.NewRecorder(), r, 0)
	require.NoError(t, err)
	require.NotNil(t, p)
	return p
}

func paramValue(t *testing.T, p *Params, key string) string {
	t.Helper()
	v, ok := p.Get(key)
	require.Truef(t, ok, "param %q missing; have %v", key, p.Keys())
	return v
}

func TestReadParamsForm(t *testing.T) {
	body := "name=My+API&usage%5Bhits%5D=1&billing_address[city]=Paris&hosts[]=a&hosts[]=b&empty="
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", ""} {
		t.Run("content-type "+ct, func(t *testing.T) {
			p := mustReadParams(t, newCodecRequest("POST", "/admin/api/services.xml", ct, body))
			assert.Equal(t, "My API", paramValue(t, p, "name"))
			assert.Equal(t, "1", paramValue(t, p, "usage[hits]"))
			assert.Equal(t, "Paris", paramValue(t, p, "billing_address[city]"))
			assert.Equal(t, []string{"a", "b"}, p.All("hosts[]"))
			assert.Equal(t, "", paramValue(t, p, "empty"))
			assert.True(t, p.Has("empty"))
			assert.False(t, p.Has("missing"))
			raw, ok := p.Raw("name")
			assert.False(t, ok, "form params have no raw JSON")
			assert.Nil(t, raw)
			assert.Equal(t, []string{"billing_address[city]", "empty", "hosts[]", "name", "usage[hits]"}, p.Keys())
		})
	}
}

func TestReadParamsQueryAndBody(t *testing.T) {
	r := newCodecRequest("PUT", "/admin/api/services/1.json?access_token=tok&name=fromquery&page=2",
		"application/x-www-form-urlencoded", "name=frombody")
	p := mustReadParams(t, r)
	assert.Equal(t, "frombody", paramValue(t, p, "name"), "body wins over query")
	assert.Equal(t, []string{"frombody"}, p.All("name"))
	assert.Equal(t, "tok", paramValue(t, p, "access_token"))
	assert.Equal(t, "2", paramValue(t, p, "page"))

	// The body stays readable for whoever reads it next.
	rest, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "name=frombody", string(rest))
}

func TestReadParamsEmptyBody(t *testing.T) {
	// The official client sends DELETE with a form Content-Type and no body.
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/json", "text/plain", ""} {
		p := mustReadParams(t, newCodecRequest("DELETE", "/admin/api/services/1.xml?access_token=t", ct, ""))
		assert.Equal(t, []string{"access_token"}, p.Keys())
	}
	p := mustReadParams(t, newCodecRequest("PUT", "/x", "application/json", "  \n"))
	assert.Empty(t, p.Keys())
}

func TestReadParamsJSON(t *testing.T) {
	body := `{"name":"x","delta":2,"ratio":1.50,"big":12345678901234567890,"enabled":true,"off":false,` +
		`"gone":null,"hosts":["a",1,true,null,{"skip":1}],"billing_address":{"city":"Paris","geo":{"lat":"1"}},` +
		`"policies_config":[{"name":"cors","configuration":{}}]}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/vnd.api+json"} {
		p := mustReadParams(t, newCodecRequest("POST", "/x.json?q=1", ct, body))
		assert.Equal(t, "x", paramValue(t, p, "name"))
		assert.Equal(t, "2", paramValue(t, p, "delta"))
		assert.Equal(t, "1.50", paramValue(t, p, "ratio"), "numbers as written")
		assert.Equal(t, "12345678901234567890", paramValue(t, p, "big"))
		assert.Equal(t, "true", paramValue(t, p, "enabled"))
		assert.Equal(t, "false", paramValue(t, p, "off"))
		assert.Equal(t, "1", paramValue(t, p, "q"))

		_, ok := p.Get("gone")
		assert.False(t, ok, "null has no flat value")
		assert.True(t, p.Has("gone"), "but it was sent")
		raw, ok := p.Raw("gone")
		assert.True(t, ok)
		assert.Equal(t, "null", string(raw))

		assert.Equal(t, []string{"a", "1", "true"}, p.All("hosts"))
		assert.Equal(t, "Paris", paramValue(t, p, "billing_address[city]"))
		assert.Equal(t, "1", paramValue(t, p, "billing_address[geo][lat]"))

		raw, ok = p.Raw("policies_config")
		require.True(t, ok)
		assert.JSONEq(t, `[{"name":"cors","configuration":{}}]`, string(raw))
		assert.False(t, p.Has("policies_config[name]"), "arrays of objects are raw only")
		raw, ok = p.Raw("delta")
		require.True(t, ok)
		assert.Equal(t, "2", string(raw))
		_, ok = p.Raw("q")
		assert.False(t, ok, "query params have no raw value")
	}
}

func TestReadParamsJSONWrapper(t *testing.T) {
	body := `{"account":{"org_name":"Acme","billing_address":{"city":"X"},"account":"inner"}}`
	p := mustReadParams(t, newCodecRequest("PUT", "/x.json", "application/json", body))
	assert.Equal(t, "Acme", paramValue(t, p, "org_name"))
	assert.Equal(t, "Acme", paramValue(t, p, "account[org_name]"))
	assert.Equal(t, "X", paramValue(t, p, "billing_address[city]"))
	assert.Equal(t, "X", paramValue(t, p, "account[billing_address][city]"))
	raw, ok := p.Raw("account")
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(string(raw), `{"org_name"`), "the wrapper stays itself")
	raw, ok = p.Raw("org_name")
	require.True(t, ok)
	assert.Equal(t, `"Acme"`, string(raw))
	raw, ok = p.Raw("billing_address")
	require.True(t, ok)
	assert.JSONEq(t, `{"city":"X"}`, string(raw))

	// Two members: nothing is unwrapped.
	p = mustReadParams(t, newCodecRequest("PUT", "/x.json", "application/json", `{"id":1,"billing_address":{"city":"X"}}`))
	assert.False(t, p.Has("city"))
	// A single member that is not an object is not a wrapper.
	p = mustReadParams(t, newCodecRequest("PUT", "/x.json", "application/json", `{"policies_config":[{"name":"a"}]}`))
	assert.Equal(t, []string{"policies_config"}, p.Keys())
}

func TestReadParamsClientJSONBodies(t *testing.T) {
	// The official client marshals the bare element (no wrapper) for these.
	name, email, id := "jane", "jane@example.com", int64(7)
	user, err := json.Marshal(client.DeveloperUser{Element: client.DeveloperUserItem{Username: &name, Email: &email, ID: &id}}.Element)
	require.NoError(t, err)
	p := mustReadParams(t, newCodecRequest("POST", "/admin/api/accounts/1/users.json", "application/json", string(user)))
	assert.Equal(t, "jane", paramValue(t, p, "username"))
	assert.Equal(t, "jane@example.com", paramValue(t, p, "email"))
	assert.Equal(t, "7", paramValue(t, p, "id"))

	enabled := true
	policies, err := json.Marshal(client.PoliciesConfigList{Policies: []client.PolicyConfig{
		{Name: "apicast", Version: "builtin", Configuration: map[string]any{}, Enabled: enabled},
	}})
	require.NoError(t, err)
	p = mustReadParams(t, newCodecRequest("PUT", "/admin/api/services/1/proxy/policies.json", "application/json", string(policies)))
	raw, ok := p.Raw("policies_config")
	require.True(t, ok)
	var got []client.PolicyConfig
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, "apicast", got[0].Name)

	// UnbindActiveDocFromProduct sends service_id: null to clear it.
	p = mustReadParams(t, newCodecRequest("PUT", "/admin/api/active_docs/3.json", "application/json", `{"id":3,"service_id":null}`))
	assert.True(t, p.Has("service_id"))
	_, ok = p.Get("service_id")
	assert.False(t, ok)
}

func TestReadParamsXML(t *testing.T) {
	body := `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<account>
  <org_name>Acme &amp; Co</org_name>
  <billing_address><city>Paris</city><zip>75001</zip></billing_address>
  <hosts><host>a</host><host>b</host></hosts>
  <description/>
  <vat_rate nil="true"/>
  <note> spaced </note>
</account>
`
	for _, ct := range []string{"application/xml", "text/xml; charset=utf-8"} {
		p := mustReadParams(t, newCodecRequest("PUT", "/x.xml", ct, body))
		assert.Equal(t, "Acme & Co", paramValue(t, p, "org_name"))
		assert.Equal(t, "Paris", paramValue(t, p, "billing_address[city]"))
		assert.Equal(t, "75001", paramValue(t, p, "billing_address[zip]"))
		assert.Equal(t, []string{"a", "b"}, p.All("hosts[host]"))
		assert.Equal(t, "", paramValue(t, p, "description"))
		assert.False(t, p.Has("vat_rate"), `nil="true" is absent`)
		assert.Equal(t, " spaced ", paramValue(t, p, "note"))
		assert.Equal(t, []string{"billing_address[city]", "billing_address[zip]", "description", "hosts[host]", "note", "org_name"}, p.Keys())
	}
}

func TestReadParamsMultipart(t *testing.T) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("name", "Docs"))
	require.NoError(t, mw.WriteField("usage[hits]", "3"))
	fw, err := mw.CreateFormFile("body", "spec.json")
	require.NoError(t, err)
	_, err = fw.Write([]byte(`{"openapi":"3.0.0"}`))
	require.NoError(t, err)
	require.NoError(t, mw.Close())

	p := mustReadParams(t, newCodecRequest("POST", "/admin/api/active_docs.json?system_name=s", mw.FormDataContentType(), body.String()))
	assert.Equal(t, "Docs", paramValue(t, p, "name"))
	assert.Equal(t, "3", paramValue(t, p, "usage[hits]"))
	assert.Equal(t, `{"openapi":"3.0.0"}`, paramValue(t, p, "body"), "file parts are values too")
	assert.Equal(t, "s", paramValue(t, p, "system_name"))
}

func TestReadParamsTooLarge(t *testing.T) {
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/json", "application/xml"} {
		r := newCodecRequest("POST", "/x.json", ct, strings.Repeat("a", 11))
		p, err := ReadParams(httptest.NewRecorder(), r, 10)
		require.Error(t, err)
		assert.Nil(t, p)
		assert.Equal(t, http.StatusRequestEntityTooLarge, StatusOf(err))
		var mbe *http.MaxBytesError
		assert.True(t, errors.As(err, &mbe), "the cause stays reachable")

		w := httptest.NewRecorder()
		WriteError(w, JSON, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.Equal(t, `{"error":"request body exceeds 10 bytes"}`, w.Body.String())
	}
	// Exactly at the limit is fine.
	p, err := ReadParams(httptest.NewRecorder(), newCodecRequest("POST", "/x", "", "a=12345678"), 10)
	require.NoError(t, err)
	assert.Equal(t, "12345678", paramValue(t, p, "a"))
}

func TestReadParamsMalformed(t *testing.T) {
	tests := []struct {
		name, target, ct, body string
		status                 int
		msg                    string
	}{
		{"json truncated", "/x", "application/json", `{"name": "abc"`, 400, "malformed JSON body: unexpected EOF at offset 14"},
		{"json bad char", "/x", "application/json", `{"a":1,}`, 400, "malformed JSON body: invalid character '}' looking for beginning of object key string at offset 8"},
		{"json array", "/x", "application/json", `[1,2]`, 400, "malformed JSON body: expected an object at offset 0"},
		{"json scalar", "/x", "application/json", ` "s"`, 400, "malformed JSON body: expected an object at offset 1"},
		{"json trailing", "/x", "application/json", `{"a":1} {"b":2}`, 400, "malformed JSON body: unexpected data after the object at offset 8"},
		{"xml truncated", "/x", "application/xml", `<a><b>1</b>`, 400, "malformed XML body: XML syntax error on line 1: unexpected EOF"},
		{"xml mismatched", "/x", "text/xml", `<a><b>1</c></a>`, 400, "malformed XML body: XML syntax error on line 1: element <b> closed by </c>"},
		{"xml two roots", "/x", "application/xml", `<a/><b/>`, 400, "malformed XML body: second root element <b> at offset 8"},
		{"xml text outside", "/x", "application/xml", `<a/>junk`, 400, "malformed XML body: text outside the root element at offset 8"},
		{"xml no root", "/x", "application/xml", `<!-- nothing -->`, 400, "malformed XML body: no root element"},
		{"xml too deep", "/x", "application/xml", strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), 400, "malformed XML body: elements nested deeper than 32"},
		{"form bad escape", "/x", "application/x-www-form-urlencoded", `a=%zz`, 400, `malformed form body: invalid URL escape "%zz"`},
		{"form semicolon", "/x", "", `a=1;b=2`, 400, "malformed form body: invalid semicolon separator in query"},
		{"bad query", "/x?a=%zz", "", "", 400, `malformed query string: invalid URL escape "%zz"`},
		{"bad content type", "/x", "application/", "a=1", 400, `malformed Content-Type "application/": mime: expected token after slash`},
		{"multipart no boundary", "/x", "multipart/form-data", "--x\r\n", 400, "malformed multipart body: Content-Type has no boundary"},
		{"multipart garbage", "/x", "multipart/form-data; boundary=zz", "not multipart", 400, `malformed multipart body: boundary "zz" not found`},
		{"unsupported", "/x", "text/plain", "hello", 415, `unsupported Content-Type "text/plain"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadParams(httptest.NewRecorder(), newCodecRequest("POST", tt.target, tt.ct, tt.body), 0)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Equal(t, tt.msg, err.Error())
			assert.Equal(t, tt.status, StatusOf(err))

			w := httptest.NewRecorder()
			WriteError(w, JSON, err)
			assert.Equal(t, tt.status, w.Code)
			want, _ := json.Marshal(map[string]string{"error": tt.msg})
			assert.Equal(t, string(want), w.Body.String())
		})
	}
}

func TestReadParamsReusesContextParams(t *testing.T) {
	stored := NewParams(url.Values{"name": {"stored"}})
	r := newCodecRequest("POST", "/x", "", "name=body")
	r = r.WithContext(contextWithParams(r.Context(), stored))
	p, err := ReadParams(httptest.NewRecorder(), r, 0)
	require.NoError(t, err)
	assert.Same(t, stored, p)
	got, ok := ParamsFrom(r.Context())
	assert.True(t, ok)
	assert.Same(t, stored, got)
	_, ok = ParamsFrom(newCodecRequest("GET", "/x", "", "").Context())
	assert.False(t, ok)
}

func TestNilParams(t *testing.T) {
	var p *Params
	_, ok := p.Get("a")
	assert.False(t, ok)
	assert.False(t, p.Has("a"))
	assert.Nil(t, p.All("a"))
	assert.Nil(t, p.Keys())
	_, ok = p.Raw("a")
	assert.False(t, ok)
}

// Bind test entities follow the composition package's conventions.

type codecAddress struct {
	City     string `json:"city"`
	Floor    int    `json:"floor"`
	Internal string `json:"internal" wire:"ro"`
}

type codecPolicy struct {
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Configuration json.RawMessage `json:"configuration"`
	Enabled       bool            `json:"enabled"`
}

type CodecCommon struct {
	SystemName string `json:"system_name"`
}

type codecEntity struct {
	ID int64 `json:"id" wire:"ro"`
	CodecCommon
	Name      string            `json:"name"`
	Delta     int               `json:"delta"`
	Count     int64             `json:"count"`
	Enabled   bool              `json:"enabled"`
	Fee       float64           `json:"setup_fee"`
	Hosts     []string          `json:"hosts"`
	MetricIDs []int64           `json:"metric_ids"`
	Labels    map[string]string `json:"labels"`
	Config    json.RawMessage   `json:"config"`
	Address   codecAddress      `json:"billing_address"`
	Policies  []codecPolicy     `json:"policies_config"`
	Note      *string           `json:"note"`
	Hidden    string            `json:"hidden" wire:"-"`
	Ignored   string            `json:"-"`
	Created   time.Time         `json:"created_at"`
	Token     string            `json:"secret_token" wire:"secret"`
	//lint:ignore U1000 present so the tests show Bind skips unexported fields
	unexported string
}

func TestBindForm(t *testing.T) {
	body := url.Values{
		"id": {"99"}, "system_name": {"api"}, "name": {"My API"}, "delta": {"-3"}, "count": {"9000000000"},
		"enabled": {"1"}, "setup_fee": {"10.5"}, "hosts[]": {"a", "b"}, "metric_ids": {"1", "2"},
		"labels[env]": {"prod"}, "labels[tier]": {"gold"}, "config": {`{"a":1}`},
		"billing_address[city]": {"Paris"}, "billing_address[floor]": {"3"}, "billing_address[internal]": {"no"},
		"policies_config": {`[{"name":"cors","version":"builtin","configuration":{"x":1},"enabled":true}]`},
		"note":            {"hi"}, "hidden": {"no"}, "Ignored": {"no"}, "created_at": {"2020-01-01T00:00:00Z"},
		"secret_token": {"s3"}, "unexported": {"no"},
	}
	p := mustReadParams(t, newCodecRequest("POST", "/x", "application/x-www-form-urlencoded", body.Encode()))
	var e codecEntity
	require.NoError(t, Bind(p, &e, true))
	note := "hi"
	assert.Equal(t, codecEntity{
		CodecCommon: CodecCommon{SystemName: "api"},
		Name:        "My API", Delta: -3, Count: 9000000000, Enabled: true, Fee: 10.5,
		Hosts: []string{"a", "b"}, MetricIDs: []int64{1, 2},
		Labels:   map[string]string{"env": "prod", "tier": "gold"},
		Config:   json.RawMessage(`{"a":1}`),
		Address:  codecAddress{City: "Paris", Floor: 3},
		Policies: []codecPolicy{{Name: "cors", Version: "builtin", Configuration: json.RawMessage(`{"x":1}`), Enabled: true}},
		Note:     &note,
		Token:    "s3", // secret limits output, not input
	}, e)
}

func TestBindJSON(t *testing.T) {
	body := `{"id":5,"system_name":"api","name":"n","delta":2,"count":7,"enabled":false,"setup_fee":0,` +
		`"hosts":["h1","h2"],"metric_ids":[3,4],"labels":{"env":"dev"},"config":{"deep":[1,2]},` +
		`"billing_address":{"city":"Rome","floor":"2","internal":"x"},` +
		`"policies_config":[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}],"note":"n"}`
	p := mustReadParams(t, newCodecRequest("POST", "/x", "application/json", body))
	e := codecEntity{Enabled: true, Fee: 3, Address: codecAddress{Internal: "keep"}}
	require.NoError(t, Bind(p, &e, true))
	assert.Equal(t, int64(0), e.ID)
	assert.Equal(t, "api", e.SystemName)
	assert.False(t, e.Enabled)
	assert.Equal(t, 0.0, e.Fee)
	assert.Equal(t, []string{"h1", "h2"}, e.Hosts)
	assert.Equal(t, []int64{3, 4}, e.MetricIDs)
	assert.Equal(t, map[string]string{"env": "dev"}, e.Labels)
	assert.JSONEq(t, `{"deep":[1,2]}`, string(e.Config))
	assert.Equal(t, codecAddress{City: "Rome", Floor: 2, Internal: "keep"}, e.Address, "ro honoured in nested structs")
	require.Len(t, e.Policies, 1)
	assert.Equal(t, "apicast", e.Policies[0].Name)
	require.NotNil(t, e.Note)
	assert.Equal(t, "n", *e.Note)
}

func TestBindUpdateKeepsAbsentAndClearsNull(t *testing.T) {
	note := "old"
	e := codecEntity{Name: "keep", Delta: 4, Hosts: []string{"x"}, Note: &note, Labels: map[string]string{"a": "b"}}
	p := mustReadParams(t, newCodecRequest("PUT", "/x", "application/json", `{"delta":null,"hosts":[],"note":null,"labels":{}}`))
	require.NoError(t, Bind(p, &e, false))
	assert.Equal(t, "keep", e.Name)
	assert.Equal(t, 0, e.Delta)
	assert.Equal(t, []string{}, e.Hosts)
	assert.Nil(t, e.Note)
	assert.Equal(t, map[string]string{}, e.Labels)
}

func TestBindWrappedJSON(t *testing.T) {
	p := mustReadParams(t, newCodecRequest("PUT", "/x", "application/json", `{"service":{"name":"wrapped","delta":1}}`))
	var e codecEntity
	require.NoError(t, Bind(p, &e, false))
	assert.Equal(t, "wrapped", e.Name)
	assert.Equal(t, 1, e.Delta)
}

func TestBindNestedFromJSONString(t *testing.T) {
	p := NewParams(url.Values{"billing_address": {`{"city":"Oslo","internal":"no"}`}})
	var e codecEntity
	require.NoError(t, Bind(p, &e, true))
	assert.Equal(t, codecAddress{City: "Oslo"}, e.Address)
}

func TestBindFieldErrors(t *testing.T) {
	tests := []struct {
		name, ct, body string
		field, msg     string
	}{
		{"int not a number", "", "delta=abc", "delta", "is not a number"},
		{"int fraction", "", "delta=1.5", "delta", "must be an integer"},
		{"int64 overflow", "", "count=99999999999999999999", "count", "is out of range"},
		{"bool", "", "enabled=yes", "enabled", "is not a boolean"},
		{"float", "", "setup_fee=cheap", "setup_fee", "is not a number"},
		{"float inf", "", "setup_fee=Inf", "setup_fee", "is not a number"},
		{"list item", "", "metric_ids[]=1&metric_ids[]=x", "metric_ids", "is not a number"},
		{"raw json", "", "config=%7Bbad", "config", "is not valid JSON"},
		{"nested", "", "billing_address[floor]=high", "billing_address[floor]", "is not a number"},
		{"nested json string", "", "billing_address=nope", "billing_address", "is invalid"},
		{"slice of structs", "", "policies_config=%5B1%5D", "policies_config", "is invalid"},
		{"map json string", "", "labels=nope", "labels", "is invalid"},
		{"json object for string", "application/json", `{"name":{"a":1}}`, "name", "is invalid"},
		{"json number for bool", "application/json", `{"enabled":2}`, "enabled", "is not a boolean"},
		{"json string for int", "application/json", `{"delta":"x"}`, "delta", "is not a number"},
		{"json array of objects for list", "application/json", `{"hosts":[{"a":1}]}`, "hosts", "is invalid"},
		{"json scalar for struct", "application/json", `{"billing_address":"x"}`, "billing_address", "is invalid"},
		{"json nested map value", "application/json", `{"labels":{"a":{"b":1}}}`, "labels[a]", "is invalid"},
		{"json scalar for map", "application/json", `{"labels":3}`, "labels", "is invalid"},
		{"json bad policies", "application/json", `{"policies_config":{"name":1}}`, "policies_config", "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustReadParams(t, newCodecRequest("POST", "/x", tt.ct, tt.body))
			var e codecEntity
			err := Bind(p, &e, true)
			var fe *composition.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, tt.msg, fe.Message)
			assert.Equal(t, tt.field+" "+tt.msg, err.Error())

			w := httptest.NewRecorder()
			WriteError(w, JSON, err)
			assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
			want, _ := json.Marshal(map[string]any{"errors": map[string][]string{tt.field: {tt.msg}}})
			assert.Equal(t, string(want), w.Body.String())
		})
	}
}

func TestBindBoolSpellings(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "false": false, "False": false, "0": false} {
		e := codecEntity{Enabled: !want}
		require.NoError(t, Bind(NewParams(url.Values{"enabled": {in}}), &e, false))
		assert.Equal(t, want, e.Enabled, in)
	}
}

func TestBindDestination(t *testing.T) {
	var e codecEntity
	assert.Error(t, Bind(NewParams(nil), e, true))
	assert.Error(t, Bind(NewParams(nil), (*codecEntity)(nil), true))
	n := 3
	assert.Error(t, Bind(NewParams(nil), &n, true))
	require.NoError(t, Bind(nil, &e, true))
	assert.Equal(t, codecEntity{}, e)
}

func TestBindEmbeddedPointer(t *testing.T) {
	type withPtr struct {
		*CodecCommon
		Name string `json:"name"`
	}
	var w withPtr
	require.NoError(t, Bind(NewParams(url.Values{"system_name": {"s"}, "name": {"n"}}), &w, true))
	require.NotNil(t, w.CodecCommon)
	assert.Equal(t, "s", w.SystemName)
	assert.Equal(t, "n", w.Name)
}

func TestBindOtherKinds(t *testing.T) {
	type other struct {
		U     uint8          `json:"u"`
		I32   int32          `json:"i32"`
		F32   float32        `json:"f32"`
		Any   any            `json:"any"`
		Nums  map[string]int `json:"nums"`
		Pairs [2]string      `json:"pairs"`
		When  *time.Time     `json:"when"`
	}
	var o other
	p := NewParams(url.Values{"u": {"255"}, "i32": {"-7"}, "f32": {"1.5"}, "any": {"text"},
		"nums": {`{"a":1}`}, "pairs": {`["x","y"]`}, "when": {"2020-01-01T00:00:00Z"}})
	require.NoError(t, Bind(p, &o, true))
	assert.Equal(t, other{U: 255, I32: -7, F32: 1.5, Any: "text", Nums: map[string]int{"a": 1}, Pairs: [2]string{"x", "y"}}, o)

	p = mustReadParams(t, newCodecRequest("POST", "/x", "application/json", `{"any":{"k":[1]},"nums":{"b":2}}`))
	require.NoError(t, Bind(p, &o, false))
	assert.Equal(t, map[string]any{"k": []any{1.0}}, o.Any)
	assert.Equal(t, map[string]int{"b": 2}, o.Nums)

	for body, field := range map[string]string{"u=-1": "u", "u=256": "u", "i32=3000000000": "i32", "f32=x": "f32", "nums=%7B": "nums"} {
		var o other
		err := Bind(mustReadParams(t, newCodecRequest("POST", "/x", "", body)), &o, true)
		var fe *composition.FieldError
		require.ErrorAs(t, err, &fe, body)
		assert.Equal(t, field, fe.Field, body)
	}
}
