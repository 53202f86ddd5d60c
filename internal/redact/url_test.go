package redact

import "testing"

func TestURL(t *testing.T) {
	expectURLs(t, map[string]string{
		"https://hook.example/in?token=s3cret#frag":  "https://hook.example/in",
		"http://user:pass@127.0.0.1:8080/health?x=1": "http://127.0.0.1:8080/health",
		"https://TOKEN@host.example/spec.json":       "https://host.example/spec.json",
		"https://host.example/a%20b?":                "https://host.example/a%20b",
		"http://[::1]:80/":                           "http://[::1]:80/",
		"http://bad host/":                           "",
		"%zz":                                        "",
	})
}

// A URL without "//" (host:port with user info, as a Consul address may be
// given) shows neither the user info nor what parses as its scheme.
func TestURLWithoutSlashesHidesUserInfo(t *testing.T) {
	expectURLs(t, map[string]string{
		"admin:s3cret@consul.example:8500": "consul.example:8500",
		"deadbeef:@consul.example:8500":    "consul.example:8500",
		"https:TOKEN@hook.example/in?x=1":  "hook.example/in",
		"consul.example:8500":              "consul.example:8500",
	})
}

// A password holding "?" or "#" in a URL without "//" is hidden whole, as
// is a bare user name before the host: neither shows in what is logged.
func TestURLWithoutSlashesHidesAPasswordWithAQueryOrFragmentMark(t *testing.T) {
	expectURLs(t, map[string]string{
		"admin:s3?cret@consul.example:8500":       "consul.example:8500",
		"admin:s3#cret@consul.example:8500":       "consul.example:8500",
		"admin:s3?c#r@consul.example:8500/v1?x=1": "consul.example:8500/v1",
		"admin:?cret@consul.example:8500":         "consul.example:8500",
		"TOKEN@consul.example":                    "consul.example",
	})
}

// expectURLs checks URL against each case, raw URL to what is shown.
func expectURLs(t *testing.T, cases map[string]string) {
	t.Helper()
	for raw, want := range cases {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// User info written with a raw "/", "?" or "#" in it (a base64 token, a
// password), which url.Parse reads as host, path, query or fragment, shows
// nothing of it: the URL is not shown at all, since no parser can tell it
// from an '@' of the path or query ("" lets the caller name the URL by its
// role). The doc's promise: "a user name alone may be a token, as in
// https://TOKEN@host".
func TestURLHidesUserInfoAParserMisreads(t *testing.T) {
	expectURLs(t, map[string]string{
		"https://Zm9v/YmFy@hooks.example/in":     "",
		"https://admin:12/34@consul.example/v1":  "",
		"https://admin:123#abc@hook.example":     "",
		"https://TOK?EN@hook.example/in":         "",
		"https:///TOKEN@hook.example":            "",
		"//Zm9v/YmFy@hook.example":               "",
		"https://u:p@hook.example/in?from=a@b":   "",
		"https://registry.example/@scope/pkg":    "",
		"https://user:pass@hook.example/in?x=1":  "https://hook.example/in",
		"https://hook.example/in?token=s3cret#f": "https://hook.example/in",
	})
}
