package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRackKeyReadsFieldNamesAsRackDoes(t *testing.T) {
	for name, want := range map[string]string{
		"_method":       "_method",
		"[_method]":     "_method",
		"]]_method":     "_method",
		"_method]":      "_method",
		"_method[]":     "_method",
		"_method[x]":    "_method",
		" _method":      "_method",
		"service[name]": "service",
		"x_method":      "x_method",
		"":              "",
	} {
		assert.Equal(t, want, rackKey(name), "%q", name)
	}
}

func TestBodyTypeRefusesWhatRackReadsOtherwise(t *testing.T) {
	for ct, want := range map[string]string{
		"application/json": "application/json",
		"Application/X-WWW-Form-Urlencoded; charset=utf-8":  "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x":                   "multipart/form-data",
		"application/x-www-form-urlencoded ; charset=utf-8": "application/x-www-form-urlencoded",
		";charset=utf-8": "",
	} {
		mt, _, err := bodyType(http.Header{"Content-Type": {ct}})
		if assert.NoError(t, err, ct) {
			assert.Equal(t, want, mt, ct)
		}
	}
	for _, ct := range []string{
		"application/x-www-form-urlencoded, text/plain",
		"text/plain, application/x-www-form-urlencoded",
		"application/json garbage",
	} {
		_, _, err := bodyType(http.Header{"Content-Type": {ct}})
		assert.Error(t, err, ct)
	}
	_, _, err := bodyType(http.Header{"Content-Type": {"text/plain", "application/json"}})
	assert.Error(t, err)
}
