package threescale

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
)

// fuzzEntity has every field kind Bind and the Encoder handle.
type fuzzEntity struct {
	ID       int64             `json:"id" wire:"ro"`
	Default  bool              `json:"default" wire:"attr"`
	Name     string            `json:"name"`
	Delta    int               `json:"delta"`
	Enabled  bool              `json:"enabled"`
	Fee      float64           `json:"setup_fee"`
	Hosts    []string          `json:"hosts"`
	IDs      []int64           `json:"metric_ids"`
	Labels   map[string]string `json:"labels"`
	Config   json.RawMessage   `json:"config"`
	Address  fuzzAddress       `json:"billing_address"`
	Policies []fuzzPolicy      `json:"policies_config"`
	Note     *string           `json:"note"`
	Created  time.Time         `json:"created_at"`
}

type fuzzAddress struct {
	City  string `json:"city"`
	Floor int    `json:"floor"`
}

type fuzzPolicy struct {
	Name          string          `json:"name"`
	Configuration json.RawMessage `json:"configuration"`
}

const fuzzLimit = 4096

// checkReadParams runs one body through ReadParams, Bind and both encoders:
// nothing may panic, every error must map to a client status, and whatever
// binds must encode to well-formed JSON and XML.
func checkReadParams(t *testing.T, contentType string, body []byte) {
	r := httptest.NewRequest("POST", "/admin/api/services.json?access_token=t&name=q", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	p, err := ReadParams(httptest.NewRecorder(), r, fuzzLimit)
	if err != nil {
		if p != nil {
			t.Fatalf("params %v alongside error %v", p.Keys(), err)
		}
		if s := StatusOf(err); s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge && s != http.StatusUnsupportedMediaType {
			t.Fatalf("error %q maps to %d", err, s)
		}
		w := httptest.NewRecorder()
		WriteError(w, JSON, err)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("error body is not JSON: %q", w.Body.String())
		}
		return
	}
	if p == nil {
		t.Fatal("nil params without error")
	}
	if len(body) > fuzzLimit {
		t.Fatalf("accepted a %d-byte body over the %d limit", len(body), fuzzLimit)
	}
	for _, k := range p.Keys() {
		if !p.Has(k) {
			t.Fatalf("key %q listed but not present", k)
		}
		v, ok := p.Get(k)
		// Get reads a repeated key as Rack does: its last value.
		if all := p.All(k); ok != (len(all) > 0) || (ok && all[len(all)-1] != v) {
			t.Fatalf("Get/All disagree on %q: Get %q, All %q", k, v, all)
		}
		if raw, ok := p.Raw(k); ok && !json.Valid(raw) {
			t.Fatalf("raw %q is not JSON: %q", k, raw)
		}
	}

	var e fuzzEntity
	if err := Bind(p, &e, true); err != nil {
		var fe *composition.FieldError
		if !errors.As(err, &fe) || StatusOf(err) != http.StatusUnprocessableEntity {
			t.Fatalf("Bind error %v is not a FieldError", err)
		}
		return
	}
	for _, f := range []Format{JSON, XML} {
		var out bytes.Buffer
		if err := (Encoder{Format: f}).One(&out, "service", e); err != nil {
			t.Fatalf("encoding %s: %v", f, err)
		}
		if f == JSON && !json.Valid(out.Bytes()) {
			t.Fatalf("invalid JSON output %q", out.String())
		}
		if f == XML {
			var anyXML struct{}
			if err := xml.Unmarshal(out.Bytes(), &anyXML); err != nil {
				t.Fatalf("invalid XML output %q: %v", out.String(), err)
			}
		}
	}
}

func FuzzReadParamsForm(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		checkReadParams(t, "application/x-www-form-urlencoded", body)
	})
}

func FuzzReadParamsJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		checkReadParams(t, "application/json", body)
		// Any JSON object small enough must be accepted.
		if trimmed := bytes.TrimSpace(body); len(body) <= fuzzLimit && len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(body) {
			r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if _, err := ReadParams(httptest.NewRecorder(), r, fuzzLimit); err != nil {
				t.Fatalf("valid JSON object refused: %v", err)
			}
		}
	})
}

func FuzzReadParamsXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		checkReadParams(t, "application/xml", body)
	})
}
