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
