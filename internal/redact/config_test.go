package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A backend, routing or upstream URL may carry its upstream's key in the
// query string: its value is hidden, the rest shown as written.
func TestURLMaskedHidesSecretQueryParameters(t *testing.T) {
	for in, want := range map[string]string{
		"https://upstream.example/v1?api_key=upstream-key-123456&lang=en":  "https://upstream.example/v1?api_key=xxxxx&lang=en",
		"https://upstream.example/v1?lang=en&Access%5FToken=t0k3n&x":       "https://upstream.example/v1?lang=en&Access%5FToken=xxxxx&x",
		"https://id:secret@idp.example/realm?client_secret=s3cr3t&scope=a": "https://id:xxxxx@idp.example/realm?client_secret=xxxxx&scope=a",
		"https://idp.example/realm?email=ops@example.com":                  "https://idp.example/realm?email=ops@example.com",
		"https://{{host}}/path?user_key={{ headers['X-Key'] }}&page={{p}}": "https://{{host}}/path?user_key=xxxxx&page={{p}}",
		"https://upstream.example/v1":                                      "https://upstream.example/v1",
		"https://client:pa?ss@idp.example/auth/realms/r":                   "https://client:xxxxx@idp.example/auth/realms/r",
		"https://client:s3cr#t@idp.example":                                "https://client:xxxxx@idp.example",
		"https://id@idp.example/realm":                                     "https://id@idp.example/realm",
		"not a url?api_key=1":                                              "not a url?api_key=1",
	} {
		assert.Equal(t, want, URLMasked(in), in)
	}
}

// A password holding a raw "/" is hidden as one holding "?" or "#" is; a
// path holding an "@" after a host and port stays as written.
func TestURLMaskedHidesAPasswordHoldingASlash(t *testing.T) {
	for in, want := range map[string]string{
		"http://proxy-user:pa/ss+w0rd@proxy.internal:3128":         "http://proxy-user:xxxxx@proxy.internal:3128",
		"https://client:s3/cr/et@idp.example/realms/news?x=1":      "https://client:xxxxx@idp.example/realms/news?x=1",
		"https://client:s3/cr@t@idp.example?email=ops@example.com": "https://client:xxxxx@idp.example?email=ops@example.com",
		"https://host.example:8443/path@x":                         "https://host.example:8443/path@x",
		"https://host.example:/a@b":                                "https://host.example:/a@b",
		"https://[::1]:8443/a@b":                                   "https://[::1]:8443/a@b",
		"https://host.example/@home":                               "https://host.example/@home",
	} {
		assert.Equal(t, want, URLMasked(in), in)
	}
}
