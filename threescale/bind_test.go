package threescale

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
