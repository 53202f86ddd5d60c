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

	"github.com/3scale/3scale-porta-go-client/client"
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
