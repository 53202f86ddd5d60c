package mgmt

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// 3scale's admin API is porta, a full Rails app (3scale/porta
// config/application.rb requires rails/all and keeps the default middleware,
// Rack::MethodOverride among it; Gemfile.lock pins rack 2.1.4.1). For a POST,
// Rack::MethodOverride takes the method from the "_method" field of what
// Rack reads as a form, or from HTTP_X_HTTP_METHOD_OVERRIDE (rack
// lib/rack/method_override.rb). These are the ways a form or that header
// reached the upstream while the proxy looked elsewhere; each turned an
// allowed POST into a GET the selection omits (the list of services).
func TestProxyRefusesMethodOverridesRackWouldRead(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, Config{Include: []string{"POST /admin/api/services.xml"}})

	form := "Content-Type: application/x-www-form-urlencoded"
	svc := "/admin/api/services.xml"
	for _, tc := range []struct {
		name    string
		headers []string
		body    string
		want    int
	}{
		// A Connection header naming Content-Type removes it on the way;
		// Rack reads a POST without one as a form (Request#form_data?).
		{"Connection drops Content-Type", []string{"Content-Type: application/json", "Connection: Content-Type"}, "_method=GET", 400},
		// Rack's media type is what precedes the first ";" or ","
		// (lib/rack/media_type.rb); Go's mime package cannot read it.
		{"comma-separated Content-Type", []string{"Content-Type: application/x-www-form-urlencoded, text/plain"}, "_method=GET", 400},
		{"two Content-Type headers", []string{"Content-Type: text/plain", form}, "_method=GET", 400},
		// Rack 2's normalize_params skips leading brackets and stops at
		// the next bracket (lib/rack/query_parser.rb).
		{"bracketed _method", []string{form}, "name=x&[_method]=GET", 400},
		{"_method with a closing bracket", []string{form}, "name=x&_method]=GET", 400},
		// DEFAULT_SEP /[&] */ swallows the spaces after "&".
		{"space before _method", []string{form}, "name=x& _method=GET", 400},
		// puma and unicorn file both spellings under one CGI name.
		{"override header with underscores", []string{"X_HTTP_METHOD_OVERRIDE: GET", form}, "name=x", 400},
		{"Content-Type with an underscore", []string{"Content_Type: application/x-www-form-urlencoded", "Content-Type: application/json"}, "_method=GET", 400},
		// Rack parses multipart/mixed and multipart/related as forms
		// (Request#parseable_data?).
		{"multipart/mixed", []string{"Content-Type: multipart/mixed; boundary=XX"},
			"--XX\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nGET\r\n--XX--\r\n", 415},
		// Rack names a part from a Content-ID, or from a Content-Disposition
		// of any type (lib/rack/multipart.rb MULTIPART_CONTENT_ID and
		// MULTIPART_CONTENT_DISPOSITION); Go's FormName reads neither.
		{"multipart part named by Content-ID", []string{"Content-Type: multipart/form-data; boundary=XX"},
			"--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--XX\r\nContent-ID: _method\r\n\r\nGET\r\n--XX--\r\n", 400},
		{"multipart attachment named _method", []string{"Content-Type: multipart/form-data; boundary=XX"},
			"--XX\r\nContent-Disposition: attachment; name=\"_method\"\r\n\r\nGET\r\n--XX--\r\n", 400},
		{"multipart filename holding name=", []string{"Content-Type: multipart/form-data; boundary=XX"},
			"--XX\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"a; name=_method\"\r\n\r\nGET\r\n--XX--\r\n", 400},
		{"multipart bracketed _method", []string{"Content-Type: multipart/form-data; boundary=XX"},
			"--XX\r\nContent-Disposition: form-data; name=\"[_method]\"\r\n\r\nGET\r\n--XX--\r\n", 400},
	} {
		status, body := rawCall(t, env.addr, rawReq(http.MethodPost, svc, tc.headers, tc.body))
		assert.Equal(t, tc.want, status, "%s: %s", tc.name, body)
	}
	for _, r := range rec.requests() {
		t.Errorf("reached the upstream: %s %s %v %q", r.Method, r.URI, r.Header, r.Body)
	}

	// Plain forms and multipart bodies still pass, without the app's
	// credentials, however Rack would spell them.
	status, body := rawCall(t, env.addr, rawReq(http.MethodPost, svc, []string{form}, "name=Plain&system_name=plain&[access_token]=app-own&provider_key]=pk"))
	require.Equal(t, http.StatusCreated, status, body)
	sent, err := url.ParseQuery(string(rec.last(t).Body))
	require.NoError(t, err)
	assert.Equal(t, url.Values{"name": {"Plain"}, "system_name": {"plain"}}, sent)
	status, body = rawCall(t, env.addr, rawReq(http.MethodPost, svc, []string{"Content-Type: multipart/form-data; boundary=XX"},
		"--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMulti\r\n--XX\r\nContent-Disposition: form-data; name=\"system_name\"\r\n\r\nmulti\r\n--XX--\r\n"))
	require.Equal(t, http.StatusCreated, status, body)
	assert.Contains(t, body, "<system_name>multi</system_name>")
}

// Rack takes a multipart boundary from the last "boundary=" of the
// Content-Type (lib/rack/multipart.rb MULTIPART, a greedy .*), Go from the
// parameter: the body below is harmless to Go and holds a _method part for
// Rack. The proxy forwards only what Go read, under a boundary of its own.
func TestProxyReEncodesMultipartBodies(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, Config{Include: []string{"POST /admin/api/services.xml"}})

	body := "--AAA\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nSmuggled\r\n" +
		"--AAA\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n" +
		"--BBB\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nGET\r\n--BBB--\r\n" +
		"\r\n--AAA\r\nContent-Disposition: form-data; name=\"system_name\"\r\n\r\nsmuggled\r\n--AAA--\r\n"
	status, answer := rawCall(t, env.addr, rawReq(http.MethodPost, "/admin/api/services.xml",
		[]string{`Content-Type: multipart/form-data; boundary=AAA; x="boundary=BBB"`}, body))
	require.Equal(t, http.StatusCreated, status, answer)
	got := rec.last(t)
	ct := got.Header.Get("Content-Type")
	assert.NotContains(t, ct, "AAA")
	assert.NotContains(t, ct, "BBB")
	assert.NotContains(t, ct, "x=", "only the proxy's boundary parameter")
	assert.NotContains(t, string(got.Body), "--AAA", "re-encoded under the proxy's boundary")
}

// Home writes the host and scheme of X-Forwarded-Host and X-Forwarded-Proto
// into the proxy config it deploys (threescale/proxyconfig.go
// proxyBackendOf), and porta's Rails reads its host from them: the app
// could point the gateways' backend at a host of its choosing through an
// allowed call. The proxy is the first hop and forwards no such claims.
func TestProxyDropsForwardingHeaders(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Fwd&system_name=fwd")
	// Straight to home: the recorder's ReverseProxy would drop these
	// headers itself.
	env := startProxy(t, co.URL, co.Token, Config{Include: []string{"PATCH /admin/api/services/*/proxy.xml"}})

	resp, body := call(t, http.MethodPatch, env.url+"/admin/api/services/"+id+"/proxy.json",
		"application/x-www-form-urlencoded", "error_status_auth_failed=418",
		"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http", "Forwarded", "host=evil.example", "X-Real-IP", "10.0.0.1")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	resp, body = call(t, http.MethodGet, co.URL+"/admin/api/services/"+id+"/proxy/configs/sandbox/latest.json?access_token="+url.QueryEscape(co.Token), "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `"error_status_auth_failed":418`, "the PATCH deployed a new config")
	assert.False(t, strings.Contains(string(body), "evil.example"), "the deployed config names the app's host: %s", body)
}

// A transform that sets the Content-Type changes how the upstream reads the
// body: the proxy reads it by the headers it forwards, after the transforms.
func TestTheBodyIsReadByTheContentTypeATransformSets(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rec := newRecorder(t, co.URL)
	env := startProxy(t, rec.srv.URL, co.Token, Config{
		Include: []string{"POST /admin/api/services.xml"},
		Transform: writeFile(t, "ct.yaml", `transforms:
  - match: "POST /admin/api/services.xml"
    request:
      headers:
        set: {Content-Type: application/x-www-form-urlencoded}
`),
	})
	status, body := rawCall(t, env.addr, rawReq(http.MethodPost, "/admin/api/services.xml",
		[]string{"Content-Type: application/json"}, "name=x&_method=GET"))
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Empty(t, rec.requests())
}
