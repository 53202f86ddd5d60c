package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// soap.lua matches an action's path when lua-resty-url's parse gives one:
// "If the soap_action_uri is a complete url, the mapping rule is only the
// path"; an action resty-url refuses (no scheme, or an http(s) one without
// an authority) is matched as it came, and a parsed one without a path
// (urn:..., http://host, http://host/) counts nothing.
func TestSOAPActionPathIsResty(t *testing.T) {
	for action, want := range map[string]string{
		"/my_soap_action": "/my_soap_action",
		"GetQuote":        "GetQuote",
		"http://www.example.com:80/path/to/myfile.html?key1=value1&key2=value2#SomewhereInTheDocument": "/path/to/myfile.html?key1=value1&key2=value2#SomewhereInTheDocument",
		`"http://tempuri.org/Add"`:     `/Add"`, // SOAP 1.1's quotes stay, as in soap.lua
		"https://user:pw@host:8443/op": "/op",
		"http://h/a@b/c":               "/c", // the userinfo is the longest that leaves a host
		"http:/no/authority":           "http:/no/authority",
		"http://bad host/x":            "http://bad host/x",
		"ftp://files.example.com/get":  "/get",
	} {
		got, ok := soapActionPath(action)
		assert.True(t, ok, action)
		assert.Equal(t, want, got, action)
	}
	for _, action := range []string{"urn:example:op", "http://host", "http://host/", "HTTP:op", "http://h/p@x", "mailto:someone@example.com"} {
		got, ok := soapActionPath(action)
		assert.False(t, ok, "%s counts nothing, not %q", action, got)
	}
	// However many '@' and '/' it has, an action is read in linear time.
	long := "x:" + strings.Repeat("//@a b", 20000)
	_, _ = soapActionPath(long)
}

// resty.mime: the media type in any case, "space around ; is irrelevant",
// the parameter's value quoted ("till next quote") or a token.
func TestSOAPContentTypeAction(t *testing.T) {
	for ct, want := range map[string]string{
		"application/soap+xml;action=/a":                  "/a",
		"application/soap+xml ; charset=utf-8; ACTION=/a": "/a",
		`application/soap+xml;action="/a;b"`:              "/a;b",
		`application/soap+xml;action="";action=/second`:   "/second",
		"application/soap+xml;action=/a   ":               "/a",
	} {
		got, ok := soapContentTypeAction(ct)
		assert.True(t, ok, ct)
		assert.Equal(t, want, got, ct)
	}
	for _, ct := range []string{
		"text/xml;action=/a", "application/soap+xml", "application/soap+xml;xaction=/a",
		"application/soap+xml;action= /a", "application/soap+xml;action=/a b",
	} {
		_, ok := soapContentTypeAction(ct)
		assert.False(t, ok, ct)
	}
}
