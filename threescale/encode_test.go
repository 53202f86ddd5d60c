package threescale

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type encAddress struct {
	City string `json:"city"`
	Zip  string `json:"zip" wire:"omitempty"`
}

type encPolicy struct {
	Name          string          `json:"name"`
	Configuration json.RawMessage `json:"configuration"`
	Enabled       bool            `json:"enabled"`
}

// encEntity has every field kind the composition's entities use.
type encEntity struct {
	ID          int64             `json:"id" wire:"ro"`
	Default     bool              `json:"default" wire:"ro,attr"`
	Custom      bool              `json:"custom" wire:"attr"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Count       int               `json:"count"`
	Fee         float64           `json:"setup_fee"`
	Cost        float64           `json:"cost_per_month"`
	CostPerUnit float64           `json:"cost_per_unit" wire:"string"`
	Enabled     bool              `json:"enabled"`
	Hosts       []string          `json:"hosts"`
	MetricIDs   []int64           `json:"metric_ids" wire:"item=id"`
	Labels      map[string]string `json:"labels"`
	Config      json.RawMessage   `json:"config"`
	Policies    []encPolicy       `json:"policies"`
	Address     encAddress        `json:"billing_address"`
	Parent      int64             `json:"parent_id" wire:"omitempty"`
	Extra       string            `json:"extra,omitempty"`
	Internal    string            `json:"internal" wire:"-"`
	Skipped     string            `json:"-"`
	Token       string            `json:"secret_token" wire:"secret"`
	Created     time.Time         `json:"created_at"`
	Deleted     time.Time         `json:"deleted_at"`
}

func sampleEntity() encEntity {
	return encEntity{
		ID: 1, Default: true, Name: `A <b> & "c"`, Count: 3, Fee: 0, Cost: 10.5, CostPerUnit: 0.25, Enabled: true,
		Hosts: []string{"a", "b"}, MetricIDs: []int64{7, 8},
		Labels:   map[string]string{"tier": "1", "env": "prod"},
		Config:   json.RawMessage(`{ "a": [1, 2] }`),
		Policies: []encPolicy{{Name: "cors", Configuration: json.RawMessage(`{}`), Enabled: true}},
		Address:  encAddress{City: "Paris"},
		Internal: "internal", Skipped: "skipped", Token: "s3cr3t",
		Created: time.Date(2026, 1, 2, 16, 4, 5, 999, time.FixedZone("CET", 3600)),
	}
}

const (
	sampleJSON = `{"service":{"id":1,"default":true,"custom":false,"name":"A \u003cb\u003e \u0026 \"c\"","description":"",` +
		`"count":3,"setup_fee":0.0,"cost_per_month":10.5,"cost_per_unit":"0.25","enabled":true,"hosts":["a","b"],` +
		`"metric_ids":[7,8],"labels":{"env":"prod","tier":"1"},"config":{"a":[1,2]},` +
		`"policies":[{"name":"cors","configuration":{},"enabled":true}],"billing_address":{"city":"Paris"},` +
		`"created_at":"2026-01-02T15:04:05Z"}}`
	sampleXML = `<?xml version="1.0" encoding="UTF-8"?><service default="true" custom="false"><id>1</id>` +
		`<name>A &lt;b&gt; &amp; "c"</name><description></description><count>3</count>` +
		`<setup_fee>0.0</setup_fee><cost_per_month>10.5</cost_per_month><cost_per_unit>0.25</cost_per_unit>` +
		`<enabled>true</enabled><hosts><host>a</host><host>b</host></hosts><metric_ids><id>7</id><id>8</id></metric_ids>` +
		`<labels><env>prod</env><tier>1</tier></labels><config>{"a":[1,2]}</config>` +
		`<policies><policy><name>cors</name><configuration>{}</configuration><enabled>true</enabled></policy></policies>` +
		`<billing_address><city>Paris</city></billing_address><created_at>2026-01-02T15:04:05Z</created_at></service>`
)

func encodeOne(t *testing.T, e Encoder, name string, v any) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, e.One(&buf, name, v))
	return buf.String()
}

func encodeList(t *testing.T, e Encoder, listName, itemName string, items any) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, e.List(&buf, listName, itemName, items))
	return buf.String()
}

func TestEncodeOneJSON(t *testing.T) {
	v := sampleEntity()
	assert.Equal(t, sampleJSON, encodeOne(t, Encoder{Format: JSON}, "service", v))
	assert.Equal(t, sampleJSON, encodeOne(t, Encoder{Format: JSON}, "service", &v), "pointers too")
	assert.True(t, json.Valid([]byte(sampleJSON)))
}

func TestEncodeOneXML(t *testing.T) {
	out := encodeOne(t, Encoder{Format: XML}, "service", sampleEntity())
	assert.Equal(t, sampleXML, out)
	// Well-formed: the standard decoder reads it back.
	var back struct {
		Default string   `xml:"default,attr"`
		Name    string   `xml:"name"`
		Hosts   []string `xml:"hosts>host"`
		Config  string   `xml:"config"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &back))
	assert.Equal(t, "true", back.Default)
	assert.Equal(t, `A <b> & "c"`, back.Name)
	assert.Equal(t, []string{"a", "b"}, back.Hosts)
	assert.JSONEq(t, `{"a":[1,2]}`, back.Config)
}

func TestEncodeSecretsAndOmitempty(t *testing.T) {
	v := sampleEntity()
	v.Parent, v.Extra, v.Address.Zip = 9, "x", "75001"
	v.Deleted = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	out := encodeOne(t, Encoder{Format: JSON, Secrets: true}, "service", v)
	assert.Contains(t, out, `"billing_address":{"city":"Paris","zip":"75001"},"parent_id":9,"extra":"x","secret_token":"s3cr3t","created_at":"2026-01-02T15:04:05Z","deleted_at":"2026-02-03T04:05:06Z"}}`)
	assert.NotContains(t, out, "internal")
	assert.NotContains(t, out, "skipped")

	out = encodeOne(t, Encoder{Format: XML, Secrets: true}, "service", v)
	assert.Contains(t, out, `<parent_id>9</parent_id><extra>x</extra><secret_token>s3cr3t</secret_token>`)

	for _, f := range []Format{JSON, XML} {
		out := encodeOne(t, Encoder{Format: f}, "service", sampleEntity())
		assert.NotContains(t, out, "s3cr3t", "secrets are left out by default")
		assert.NotContains(t, out, "parent_id")
		assert.NotContains(t, out, "extra")
		assert.NotContains(t, out, "deleted_at", "a zero time is omitted")
	}
}

func TestEncodeEmptyCollections(t *testing.T) {
	type coll struct {
		Hosts  []string          `json:"hosts"`
		Labels map[string]string `json:"labels"`
		Raw    json.RawMessage   `json:"raw"`
		Ptr    *encAddress       `json:"ptr"`
		Any    any               `json:"any"`
	}
	assert.Equal(t, `{"c":{"hosts":[],"labels":{},"raw":null,"ptr":null,"any":null}}`, encodeOne(t, Encoder{}, "c", coll{}))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><c><hosts></hosts><labels></labels><raw></raw></c>`,
		encodeOne(t, Encoder{Format: XML}, "c", coll{}))
	full := coll{Ptr: &encAddress{City: "X"}, Any: 5}
	assert.Equal(t, `{"c":{"hosts":[],"labels":{},"raw":null,"ptr":{"city":"X"},"any":5}}`, encodeOne(t, Encoder{}, "c", full))
}

type encUsage struct {
	ID        int64  `json:"id"`
	Path      string `json:"path"`
	ServiceID int64  `json:"service_id"`
	BackendID int64  `json:"backend_id"`
}

func TestEncodeList(t *testing.T) {
	usages := []encUsage{{ID: 1, Path: "/", ServiceID: 2, BackendID: 3}, {ID: 4, Path: "/v2", ServiceID: 2, BackendID: 5}}
	tests := []struct {
		name               string
		f                  Format
		listName, itemName string
		items              any
		want               string
	}{
		{"json", JSON, "backend_usages", "backend_usage", usages,
			`{"backend_usages":[{"backend_usage":{"id":1,"path":"/","service_id":2,"backend_id":3}},{"backend_usage":{"id":4,"path":"/v2","service_id":2,"backend_id":5}}]}`},
		{"json bare array", JSON, "", "backend_usage", usages,
			`[{"backend_usage":{"id":1,"path":"/","service_id":2,"backend_id":3}},{"backend_usage":{"id":4,"path":"/v2","service_id":2,"backend_id":5}}]`},
		{"json unwrapped items", JSON, "policies_config", "", []encPolicy{{Name: "cors", Configuration: json.RawMessage(`{}`)}},
			`{"policies_config":[{"name":"cors","configuration":{},"enabled":false}]}`},
		{"json pointers", JSON, "backend_usages", "backend_usage", []*encUsage{&usages[0]},
			`{"backend_usages":[{"backend_usage":{"id":1,"path":"/","service_id":2,"backend_id":3}}]}`},
		{"json empty", JSON, "services", "service", []encEntity{}, `{"services":[]}`},
		{"json nil", JSON, "services", "service", nil, `{"services":[]}`},
		{"json nil slice", JSON, "", "service", []encEntity(nil), `[]`},
		{"xml", XML, "backend_usages", "backend_usage", usages[:1],
			`<?xml version="1.0" encoding="UTF-8"?><backend_usages><backend_usage><id>1</id><path>/</path><service_id>2</service_id><backend_id>3</backend_id></backend_usage></backend_usages>`},
		{"xml bare array uses plural", XML, "", "backend_usage", usages[:1],
			`<?xml version="1.0" encoding="UTF-8"?><backend_usages><backend_usage><id>1</id><path>/</path><service_id>2</service_id><backend_id>3</backend_id></backend_usage></backend_usages>`},
		{"xml item from list name", XML, "policies", "", []encPolicy{{Name: "cors"}},
			`<?xml version="1.0" encoding="UTF-8"?><policies><policy><name>cors</name><configuration></configuration><enabled>false</enabled></policy></policies>`},
		{"xml empty", XML, "services", "service", []encEntity{}, `<?xml version="1.0" encoding="UTF-8"?><services></services>`},
		{"xml attrs per item", XML, "plans", "plan", []encEntity{{ID: 2, Custom: true}},
			`<?xml version="1.0" encoding="UTF-8"?><plans><plan default="false" custom="true"><id>2</id><name></name><description></description><count>0</count><setup_fee>0.0</setup_fee><cost_per_month>0.0</cost_per_month><cost_per_unit>0.0</cost_per_unit><enabled>false</enabled><hosts></hosts><metric_ids></metric_ids><labels></labels><config></config><policies></policies><billing_address><city></city></billing_address></plan></plans>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, encodeList(t, Encoder{Format: tt.f}, tt.listName, tt.itemName, tt.items))
		})
	}
}

func TestEncodeOneWith(t *testing.T) {
	type link struct {
		Rel  string `json:"rel" wire:"attr"`
		Href string `json:"href" wire:"attr"`
	}
	v := encUsage{ID: 1, Path: "/", ServiceID: 2, BackendID: 3}
	extra := map[string]any{"path": "/override", "links": []link{{Rel: "self", Href: "/a?b=1&c=2"}}, "active": true}

	var buf bytes.Buffer
	require.NoError(t, Encoder{}.OneWith(&buf, "backend_usage", v, extra))
	assert.Equal(t, `{"backend_usage":{"id":1,"path":"/override","service_id":2,"backend_id":3,"active":true,"links":[{"rel":"self","href":"/a?b=1\u0026c=2"}]}}`, buf.String())

	buf.Reset()
	require.NoError(t, Encoder{Format: XML}.OneWith(&buf, "backend_usage", &v, extra))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><backend_usage><id>1</id><path>/override</path><service_id>2</service_id><backend_id>3</backend_id><active>true</active><links><link rel="self" href="/a?b=1&amp;c=2"></link></links></backend_usage>`, buf.String())

	buf.Reset()
	require.NoError(t, Encoder{}.OneWith(&buf, "status", nil, map[string]any{"ok": 1.0}))
	assert.Equal(t, `{"status":{"ok":1.0}}`, buf.String())

	buf.Reset()
	require.NoError(t, Encoder{}.One(&buf, "config", map[string]any{"b": 1, "a": "x"}))
	assert.Equal(t, `{"config":{"a":"x","b":1}}`, buf.String())
}

func TestEncodeFloats(t *testing.T) {
	type money struct {
		A float64 `json:"a"`
		B float64 `json:"b"`
		C float64 `json:"c"`
		D float32 `json:"d"`
		E float64 `json:"e" wire:"string"`
	}
	out := encodeOne(t, Encoder{}, "m", money{A: 0, B: 10.5, C: 1234567.125, D: 0.1, E: 3})
	assert.Equal(t, `{"m":{"a":0.0,"b":10.5,"c":1234567.125,"d":0.1,"e":"3.0"}}`, out)

	var buf bytes.Buffer
	err := Encoder{}.One(&buf, "m", money{A: math.NaN()})
	assert.ErrorContains(t, err, "unsupported float value NaN")
	assert.Empty(t, buf.String(), "nothing is written on error")
}

func TestEncodeErrors(t *testing.T) {
	type bad struct {
		Name string `json:"proxiable?"`
	}
	var buf bytes.Buffer
	assert.ErrorContains(t, Encoder{Format: XML}.One(&buf, "x", bad{}), `"proxiable?" is not a valid XML element name`)
	assert.NoError(t, Encoder{}.One(&buf, "x", bad{}), "JSON has no such restriction")
	assert.Error(t, Encoder{Format: XML}.One(&buf, "1bad", encUsage{}))
	assert.Error(t, Encoder{}.List(&buf, "x", "y", 5))
	assert.Error(t, Encoder{}.One(&buf, "x", struct {
		R json.RawMessage `json:"r"`
	}{R: json.RawMessage(`{bad`)}))
	assert.Error(t, Encoder{Format: XML}.One(&buf, "x", struct {
		A []string `json:"a" wire:"attr"`
	}{A: []string{"x"}}))

	type node struct {
		Next *node `json:"next"`
	}
	n := &node{}
	n.Next = n
	assert.ErrorContains(t, Encoder{}.One(&buf, "n", n), "a cycle?")
	assert.ErrorContains(t, Encoder{Format: XML}.One(&buf, "n", n), "a cycle?")
}

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, XML, http.StatusCreated, func(out io.Writer) error { return Encoder{Format: XML}.One(out, "metric", encUsage{ID: 1}) })
	assert.Equal(t, http.StatusCreated, w.Code)
	assert.Equal(t, "application/xml; charset=utf-8", w.Header().Get("Content-Type"))
	assert.True(t, strings.HasPrefix(w.Body.String(), `<?xml version="1.0" encoding="UTF-8"?><metric><id>1</id>`))
	assert.Equal(t, w.Body.Len(), atoi(t, w.Header().Get("Content-Length")))

	w = httptest.NewRecorder()
	Write(w, JSON, http.StatusOK, func(out io.Writer) error {
		_, _ = out.Write([]byte(`{"partial":`))
		return errors.New("secret detail")
	})
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
	assert.NotContains(t, w.Body.String(), "partial")
	assert.NotContains(t, w.Body.String(), "secret detail")

	w = httptest.NewRecorder()
	Write(w, JSON, http.StatusOK, nil)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Empty(t, w.Body.String())

	w = httptest.NewRecorder()
	Write(w, JSON, http.StatusNoContent, func(out io.Writer) error { _, err := out.Write([]byte("x")); return err })
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Empty(t, w.Body.String())
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	require.NoError(t, json.Unmarshal([]byte(s), &n))
	return n
}

func TestEncodeScalarRoots(t *testing.T) {
	assert.Equal(t, `{"count":5}`, encodeOne(t, Encoder{}, "count", 5))
	assert.Equal(t, `{"nothing":null}`, encodeOne(t, Encoder{}, "nothing", nil))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><count>5</count>`, encodeOne(t, Encoder{Format: XML}, "count", 5))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><nothing></nothing>`, encodeOne(t, Encoder{Format: XML}, "nothing", nil))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><scopes><scope>a</scope><scope>b</scope></scopes>`,
		encodeList(t, Encoder{Format: XML}, "scopes", "scope", []string{"a", "b"}))
	assert.Equal(t, `{"scopes":["a","b"]}`, encodeList(t, Encoder{}, "scopes", "", []string{"a", "b"}))
	var buf bytes.Buffer
	assert.Error(t, Encoder{Format: XML}.One(&buf, "bad name", 5))
	assert.Error(t, Encoder{Format: XML}.One(&buf, "bad name", nil))
	assert.Error(t, Encoder{}.One(&buf, "m", map[int]string{1: "a"}))
}
