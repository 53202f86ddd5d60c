package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func echoChain(conf string, after ...string) string {
	chain := `[{"name":"echo","version":"builtin","enabled":true,"configuration":` + conf + `}`
	for _, el := range after {
		chain += "," + el
	}
	return chain + `,{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// The manifest: "This policy prints the request back to the client";
// echo.lua's content phase says nginx's $request, the request line as sent
// ("GET /t HTTP/1.1" in APIcast's tests), which nothing is forwarded for.
// The apicast element's checks run before, as in APIcast.
func TestPolicyEchoPrintsTheRequestLine(t *testing.T) {
	cg := startChainGateway(t, echoChain(`{}`))
	a := call(t, "GET", cg.base+"/some/path?user_key="+cg.key+"&x=a%20b", nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "GET /some/path?user_key="+cg.key+"&x=a%20b HTTP/1.1\n", a.body)
	assert.Equal(t, "text/plain", a.contentType)
	assert.Empty(t, cg.got, "echo answers: nothing is forwarded")
	assert.Equal(t, 1.0, policyEvents(cg.reg, "echo", "answered"))

	a = call(t, "GET", cg.base+"/some/path", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "Authentication parameters missing\n", a.body)

	// The request line as the client sent it, whatever a rewrite did.
	cg = startChainGateway(t, echoChain(`{}`, `{"name":"url_rewriting","version":"builtin","enabled":true,"configuration":
		{"commands":[{"op":"sub","regex":"^/old","replace":"/new"}]}}`))
	a = call(t, "GET", cg.base+"/old?user_key="+cg.key, nil)
	assert.Equal(t, "GET /old?user_key="+cg.key+" HTTP/1.1\n", a.body)
}

// echo.lua: "if accept == 'application/json' then
// ngx.say(cjson.encode({ request = ngx.var.request }))": an Accept of
// exactly application/json gets the line as JSON, written as lua-cjson
// writes it ('/' escaped); any other Accept, the plain line.
func TestPolicyEchoJSONForAcceptApplicationJSON(t *testing.T) {
	cg := startChainGateway(t, echoChain(`{}`))
	a := call(t, "GET", cg.base+`/t?user_key=`+cg.key+`&q=%22x%22`, http.Header{"Accept": {"application/json"}})
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, `{"request":"GET \/t?user_key=`+cg.key+`&q=%22x%22 HTTP\/1.1"}`+"\n", a.body)
	assert.Equal(t, "text/plain", a.contentType, "echo sets no content type: nginx's default")

	a = call(t, "GET", cg.base+"/t?user_key="+cg.key, http.Header{"Accept": {"application/json, text/plain"}})
	assert.Equal(t, "GET /t?user_key="+cg.key+" HTTP/1.1\n", a.body)
}

// Schema "status": "HTTP status code to be returned".
func TestPolicyEchoStatus(t *testing.T) {
	cg := startChainGateway(t, echoChain(`{"status":201}`))
	a := call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusCreated, a.status)
	assert.Equal(t, "GET /t?user_key="+cg.key+" HTTP/1.1\n", a.body)
	assert.Empty(t, cg.got)

	cg = startChainGateway(t, echoChain(`{"status":404}`))
	a = call(t, "HEAD", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Empty(t, a.body)
}

// Schema "exit": "request", "Interrupt the processing of the request.": in
// the rewrite phase, ngx.exit(status): a 2xx with an empty body (204 with
// none), nginx's error page for the statuses it has one for. The request
// ends there, before the apicast element asks for credentials. Without a
// status, ngx.exit(ngx.status) is ngx.exit(0): only the phase ends.
func TestPolicyEchoExitRequest(t *testing.T) {
	cg := startChainGateway(t, echoChain(`{"status":201,"exit":"request"}`))
	a := call(t, "GET", cg.base+"/t", nil)
	assert.Equal(t, http.StatusCreated, a.status)
	assert.Empty(t, a.body)
	assert.Equal(t, "text/plain", a.contentType)
	assert.Empty(t, cg.got)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "echo", "answered"))

	cg = startChainGateway(t, echoChain(`{"status":404,"exit":"request"}`))
	a = call(t, "GET", cg.base+"/t", nil)
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Equal(t, "text/html", a.contentType)
	assert.Equal(t, "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n"+
		"<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n", a.body)

	cg = startChainGateway(t, echoChain(`{"status":204,"exit":"request"}`))
	a = call(t, "GET", cg.base+"/t", nil)
	assert.Equal(t, http.StatusNoContent, a.status)
	assert.Empty(t, a.body)

	cg = startChainGateway(t, echoChain(`{"exit":"request"}`))
	a = call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "GET /t?user_key="+cg.key+" HTTP/1.1\n", a.body, "no status: the phase ends, echo answers in content")
}

// Schema "exit": "phase", "Skip only the rewrite phase.": the rewrite phase
// of the elements after echo is skipped (an echo exiting the request there
// does not run), the access phase runs (maintenance_mode answers), and echo
// answers in the content phase with its status. The apicast element's
// checks are never skipped.
func TestPolicyEchoExitPhase(t *testing.T) {
	exiting := `{"name":"echo","version":"builtin","enabled":true,"configuration":{"status":418,"exit":"request"}}`
	cg := startChainGateway(t, echoChain(`{"status":202,"exit":"phase"}`, exiting))
	a := call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusAccepted, a.status)
	assert.Equal(t, "GET /t?user_key="+cg.key+" HTTP/1.1\n", a.body)
	assert.Empty(t, cg.got)

	a = call(t, "GET", cg.base+"/t", nil)
	assert.Equal(t, http.StatusForbidden, a.status, "the apicast element still asks for credentials")

	cg = startChainGateway(t, echoChain(`{"exit":"phase"}`, `{"name":"maintenance_mode","version":"builtin","enabled":true,"configuration":{}}`))
	a = call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Equal(t, "Service Unavailable - Maintenance\n", a.body)
}

// The schema: status an integer, exit request or phase. A status must be a
// final HTTP status the gateway can send (200 to 599).
func TestPolicyEchoInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"status":"201"}`: "status",
		`{"status":42}`:    "status",
		`{"status":600}`:   "status",
		`{"status":101}`:   "status",
		`{"exit":"stop"}`:  "exit",
		`{"exit":true}`:    "exit",
	} {
		cg := startChainGateway(t, echoChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
}
