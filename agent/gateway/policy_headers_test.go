package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func headersChain(conf string) string {
	return `[{"name":"headers","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// APIcast's headers tests 1-4 on the request: "Set op with a header that does
// not exist creates it with the given value"; "Set op with a header that
// exists, clears it and sets the given value"; "Set op with an empty value
// deletes the header"; "Push op with a header that exists, creates a new
// header with the same name and the given value"; "Add op with a header that
// does not exist, does not change anything"; delete removes it. The upstream
// gets the result; the client's response does not carry them.
func TestPolicyHeadersRequestOperations(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{"request":[
		{"op":"set","header":"New-Header","value":"config_value_nh"},
		{"op":"set","header":"Existing-Header","value":"config_value_eh"},
		{"op":"set","header":"Header-To-Delete","value":""},
		{"op":"push","header":"Pushed-New","value":"p1"},
		{"op":"push","header":"Pushed-Existing","value":"config_value_pe"},
		{"op":"add","header":"Added-New","value":"a1"},
		{"op":"add","header":"Added-Existing","value":"config_value_ae"},
		{"op":"delete","header":"Deleted-Header"},
		{"op":"delete","header":"Non-Existing-Header"}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{
		"Existing-Header":  {"request_value_eh1", "request_value_eh2"},
		"Header-To-Delete": {"request_value_htd"},
		"Pushed-Existing":  {"request_value_pe1", "request_value_pe2"},
		"Added-Existing":   {"request_value_ae"},
		"Deleted-Header":   {"some_value"},
		"Kept-Header":      {"another_value"},
	})
	require.Equal(t, http.StatusOK, a.status)
	got := <-cg.got
	assert.Equal(t, []string{"config_value_nh"}, got.Header.Values("New-Header"))
	assert.Equal(t, []string{"config_value_eh"}, got.Header.Values("Existing-Header"))
	assert.Empty(t, got.Header.Values("Header-To-Delete"))
	assert.Equal(t, []string{"p1"}, got.Header.Values("Pushed-New"))
	assert.Equal(t, []string{"request_value_pe1", "request_value_pe2", "config_value_pe"}, got.Header.Values("Pushed-Existing"))
	assert.Empty(t, got.Header.Values("Added-New"))
	assert.Equal(t, []string{"request_value_ae", "config_value_ae"}, got.Header.Values("Added-Existing"))
	assert.Empty(t, got.Header.Values("Deleted-Header"))
	assert.Equal(t, "another_value", got.Header.Get("Kept-Header"))
	assert.Empty(t, a.header.Values("New-Header"), "request headers are not in the response")
}

// APIcast's headers.lua reads the request's headers once, when the policy's
// rewrite starts ("local req_headers = ngx.req.get_headers()", "to avoid
// calling ngx.req.get_headers() in every command"): push and add build on
// that snapshot (new_header_value(req_headers[header_name], value), then
// ngx.req.set_header), while set and delete change the request itself. So,
// on one header: a push after a set builds on what the request brought and
// replaces the set value; an add after a delete adds back to what the
// request had; an add after a set of a header the request did not bring
// does nothing; a second push of such a header leaves only its own value,
// and of a header the request brought once, the request's value and its own.
// A header the request brought several times is a list in the snapshot,
// which push extends (table.insert on it): pushes then add up.
func TestPolicyHeadersRequestCommandsReadTheRequestsHeaders(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{"request":[
		{"op":"set","header":"Set-Push","value":"set"},
		{"op":"push","header":"Set-Push","value":"pushed"},
		{"op":"set","header":"Set-Push-New","value":"set"},
		{"op":"push","header":"Set-Push-New","value":"pushed"},
		{"op":"delete","header":"Delete-Add"},
		{"op":"add","header":"Delete-Add","value":"added"},
		{"op":"set","header":"Set-Add-New","value":"set"},
		{"op":"add","header":"Set-Add-New","value":"added"},
		{"op":"push","header":"Push-Push-New","value":"p1"},
		{"op":"push","header":"Push-Push-New","value":"p2"},
		{"op":"push","header":"Push-Push-One","value":"p1"},
		{"op":"push","header":"Push-Push-One","value":"p2"},
		{"op":"push","header":"Push-Push-Two","value":"p1"},
		{"op":"push","header":"Push-Push-Two","value":"p2"},
		{"op":"push","header":"Push-Add-New","value":"p1"},
		{"op":"add","header":"Push-Add-New","value":"a1"}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{
		"Set-Push":      {"request"},
		"Delete-Add":    {"request"},
		"Push-Push-One": {"request"},
		"Push-Push-Two": {"r1", "r2"},
	})
	require.Equal(t, http.StatusOK, a.status)
	got := (<-cg.got).Header
	assert.Equal(t, []string{"request", "pushed"}, got.Values("Set-Push"))
	assert.Equal(t, []string{"pushed"}, got.Values("Set-Push-New"))
	assert.Equal(t, []string{"request", "added"}, got.Values("Delete-Add"))
	assert.Equal(t, []string{"set"}, got.Values("Set-Add-New"))
	assert.Equal(t, []string{"p2"}, got.Values("Push-Push-New"))
	assert.Equal(t, []string{"request", "p2"}, got.Values("Push-Push-One"))
	assert.Equal(t, []string{"r1", "r2", "p1", "p2"}, got.Values("Push-Push-Two"))
	assert.Equal(t, []string{"p1"}, got.Values("Push-Add-New"))
}

// APIcast's headers tests 5-8 on the response (header_filter): set creates or
// replaces and, empty, clears; push adds a line; add adds only to an existing
// header; delete removes what the upstream set.
func TestPolicyHeadersResponseOperations(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{"response":[
		{"op":"set","header":"New-Header","value":"config_value_nh"},
		{"op":"push","header":"X-Served-By","value":"config_value_sb"},
		{"op":"add","header":"Not-There","value":"x"},
		{"op":"add","header":"X-Served-By","value":"added"},
		{"op":"set","header":"Content-Security-Policy","value":""},
		{"op":"delete","header":"X-Content-Type-Options"}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
	assert.Equal(t, "config_value_nh", a.header.Get("New-Header"))
	assert.Equal(t, []string{"app", "config_value_sb", "added"}, a.header.Values("X-Served-By"))
	assert.Empty(t, a.header.Values("Not-There"))
	cg = startChainGateway(t, headersChain(`{"response":[{"op":"delete","header":"X-Served-By"},{"op":"set","header":"X-Served-By-2","value":""}]}`))
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Empty(t, a.header.Values("X-Served-By"), "delete removes the upstream's header")
	assert.Equal(t, "app", a.body)
}

// The response commands run on every answer, the gateway's own included, as
// nginx's header_filter does.
func TestPolicyHeadersResponseOnGatewayAnswers(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{"response":[{"op":"set","header":"X-Trace","value":"edge"}]}`))
	a := call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "edge", a.header.Get("X-Trace"))
}

// value_type liquid: "Evaluate 'value' as liquid", with the variables APIcast
// gives templates: {{remote_addr}}, {{uri}}, {{host}}, {{headers['X']}},
// {{http_method}}, {{service.id}}; in the request and in the response.
func TestPolicyHeadersLiquidValues(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{
		"request":[
			{"op":"set","header":"X-Client","value":"{{remote_addr}}","value_type":"liquid"},
			{"op":"set","header":"X-Uri","value":"path={{ uri }}","value_type":"liquid"},
			{"op":"set","header":"X-Host","value":"{{host}}","value_type":"liquid"},
			{"op":"set","header":"X-Copy","value":"{{headers['X-Original']}}!","value_type":"liquid"},
			{"op":"set","header":"X-Plain","value":"{{uri}}"}],
		"response":[
			{"op":"set","header":"X-Echo","value":"{{http_method}} {{uri}} for {{service.id}}","value_type":"liquid"}]}`))
	a := call(t, "GET", cg.base+"/some/path?user_key="+cg.key, http.Header{"X-Original": {"orig"}})
	require.Equal(t, http.StatusOK, a.status)
	got := <-cg.got
	assert.Equal(t, "127.0.0.1", got.Header.Get("X-Client"))
	assert.Equal(t, "path=/some/path", got.Header.Get("X-Uri"))
	assert.Equal(t, "127.0.0.1", got.Header.Get("X-Host"))
	assert.Equal(t, "orig!", got.Header.Get("X-Copy"))
	assert.Equal(t, "{{uri}}", got.Header.Get("X-Plain"), "plain values are not evaluated")
	assert.Equal(t, "GET /some/path for "+strconv.FormatInt(cg.f.svc.ID, 10), a.header.Get("X-Echo"))
}

// APIcast's Liquid context (ngx_variable.lua) holds server_addr and
// server_port, nginx's $server_addr and $server_port ("an address of the
// server which accepted a request", "port of the server which accepted a
// request"): the gateway's end of the client's connection, here the
// 127.0.0.1 listener the test started, over HTTP/1.1 as every client sends.
func TestPolicyHeadersLiquidServerAddrAndPort(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{
		"request":[{"op":"set","header":"X-Server","value":"{{ server_addr }}:{{ server_port }}","value_type":"liquid"}],
		"response":[{"op":"set","header":"X-Server-Port","value":"{{server_port}}","value_type":"liquid"}]}`))
	u, err := url.Parse(cg.base)
	require.NoError(t, err)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, u.Host, (<-cg.got).Header.Get("X-Server"))
	assert.Equal(t, u.Port(), a.header.Get("X-Server-Port"))
}

// APIcast's Liquid context (ngx_variable.lua) holds request_id, nginx's
// $request_id ("unique request identifier generated from 16 random bytes, in
// hexadecimal"): the common "X-Request-Id: {{ request_id }}" sends the
// upstream and the client the same 32 hex digits, another for each request.
func TestPolicyHeadersLiquidRequestID(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{
		"request":[{"op":"set","header":"X-Request-Id","value":"{{ request_id }}","value_type":"liquid"}],
		"response":[{"op":"set","header":"X-Request-Id","value":"{{request_id}}","value_type":"liquid"}]}`))
	var ids []string
	for range 2 {
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		require.Equal(t, http.StatusOK, a.status)
		id := (<-cg.got).Header.Get("X-Request-Id")
		assert.Regexp(t, `^[0-9a-f]{32}$`, id)
		assert.Equal(t, id, a.header.Get("X-Request-Id"), "one request, one id")
		ids = append(ids, id)
	}
	assert.NotEqual(t, ids[0], ids[1])
}

// The schema requires op and header; op is add, set, push or delete;
// value_type plain or liquid; a Liquid tag the gateway cannot render is
// refused when the chain is built. Each fails the service closed, naming the
// field.
func TestPolicyHeadersInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"request":[{"header":"X"}]}`: "request[0].op",
		`{"request":[{"op":"set"}]}`:   "request[0].header",
		`{"response":[{"op":"set","header":"X","value":"v"},{"op":"replace","header":"Y"}]}`:             "response[1].op",
		`{"request":[{"op":"set","header":"X","value":"v","value_type":"lua"}]}`:                         "request[0].value_type",
		`{"request":[{"op":"set","header":"X","value":"{% if a %}b{% endif %}","value_type":"liquid"}]}`: "request[0].value",
		`{"request":[{"op":"set","header":"Bad Name","value":"v"}]}`:                                     "request[0].header",
	} {
		cg := startChainGateway(t, headersChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
}

// BenchmarkPolicyHeaders sets a request header and a response header (one
// plain, one Liquid each) through [headers, apicast].
func BenchmarkPolicyHeaders(b *testing.B) {
	g := edgeBenchGateway(b, headersChain(`{
		"request":[{"op":"set","header":"X-Gateway","value":"portolan"},
			{"op":"set","header":"X-Client","value":"{{remote_addr}}","value_type":"liquid"}],
		"response":[{"op":"set","header":"X-Frame-Options","value":"DENY"},
			{"op":"set","header":"X-Path","value":"{{uri}}","value_type":"liquid"}]}`))
	req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
	runEdgeBench(b, g, req)
}
