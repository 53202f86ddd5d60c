package threescale

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		name, target, accept string
		want                 Format
		wantPath             string
	}{
		{"json suffix", "/admin/api/services.json", "", JSON, "/admin/api/services"},
		{"xml suffix", "/admin/api/services/1.xml", "", XML, "/admin/api/services/1"},
		{"suffix wins over accept", "/admin/api/services/1/proxy/policies.json", "application/xml", JSON, "/admin/api/services/1/proxy/policies"},
		{"xml suffix wins over json accept", "/admin/api/services.xml", "application/json", XML, "/admin/api/services"},
		{"query does not count", "/admin/api/services.xml?access_token=x.json", "", XML, "/admin/api/services"},
		{"accept xml", "/admin/api/services", "application/xml", XML, "/admin/api/services"},
		{"accept text xml", "/admin/api/services", "text/xml", XML, "/admin/api/services"},
		{"accept json", "/admin/api/services", "application/json", JSON, "/admin/api/services"},
		{"no accept", "/admin/api/services", "", JSON, "/admin/api/services"},
		{"wildcard", "/admin/api/services", "*/*", JSON, "/admin/api/services"},
		{"unknown type", "/admin/api/services", "text/html", JSON, "/admin/api/services"},
		{"q values", "/x", "application/json;q=0.5, application/xml", XML, "/x"},
		{"tie keeps first", "/x", "application/json, application/xml", JSON, "/x"},
		{"q zero refused", "/x", "application/xml;q=0", JSON, "/x"},
		{"vendor xml", "/x", "application/vnd.example+xml", XML, "/x"},
		{"garbage accept", "/x", ";;;,", JSON, "/x"},
		{"suffix-like segment", "/admin/api/json", "", JSON, "/admin/api/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			f, path := FormatOf(r)
			assert.Equal(t, tt.want, f)
			assert.Equal(t, tt.wantPath, path)
		})
	}
}

func TestFormatStrings(t *testing.T) {
	assert.Equal(t, "json", JSON.String())
	assert.Equal(t, "xml", XML.String())
	assert.Equal(t, "application/json; charset=utf-8", JSON.ContentType())
	assert.Equal(t, "application/xml; charset=utf-8", XML.ContentType())
}
