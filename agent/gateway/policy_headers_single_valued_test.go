package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// APIcast's headers.lua pushes and adds by handing nginx the list of the
// header's values with the new one last (push_resp_header: "ngx.header[
// header_name] = new_value"; push_request_header: "ngx.req.set_header(
// header_name, new_value)"). lua-nginx-module documents for ngx.header:
// "only the last element in the Lua table will take effect for standard
// headers such as Content-Type that only accept a single value"
// (ngx.header.content_type = {'a', 'b'} is ngx.header.content_type = 'b'),
// and its ngx_http_set_builtin_header does the same for the request's
// built-in headers (Authorization, User-Agent, …): each element overwrites
// the one before. So a push or add on such a header sends the command's
// value alone, never two Content-Types or two Authorizations; any other
// header gets one line per value.
func TestPolicyHeadersPushOnSingleValuedHeaderReplacesIt(t *testing.T) {
	cg := startChainGateway(t, headersChain(`{
		"request":[
			{"op":"push","header":"Authorization","value":"Basic dXBzdHJlYW06c2VjcmV0"},
			{"op":"add","header":"User-Agent","value":"edge-agent"},
			{"op":"add","header":"Referer","value":"https://not-sent.example"},
			{"op":"push","header":"X-Generic","value":"pushed"}],
		"response":[
			{"op":"push","header":"Content-Type","value":"application/json"},
			{"op":"add","header":"Last-Modified","value":"Wed, 21 Oct 2015 07:28:00 GMT"},
			{"op":"push","header":"X-Served-By","value":"edge"}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{
		"Authorization": {"Basic Y2xpZW50OmNsaWVudA=="},
		"User-Agent":    {"client-agent"},
		"X-Generic":     {"client"},
	})
	require.Equal(t, http.StatusOK, a.status)
	got := (<-cg.got).Header
	assert.Equal(t, []string{"Basic dXBzdHJlYW06c2VjcmV0"}, got.Values("Authorization"),
		"a push on Authorization sends the pushed value alone, as nginx keeps the last")
	assert.Equal(t, []string{"edge-agent"}, got.Values("User-Agent"), "an add on a User-Agent the client sent replaces it")
	assert.Empty(t, got.Values("Referer"), "an add on a header the client did not send does nothing")
	assert.Equal(t, []string{"client", "pushed"}, got.Values("X-Generic"), "other headers get one line per value")
	assert.Equal(t, []string{"application/json"}, a.header.Values("Content-Type"),
		"a push on the response's Content-Type sends the pushed value alone")
	assert.Empty(t, a.header.Values("Last-Modified"))
	assert.Equal(t, []string{"app", "edge"}, a.header.Values("X-Served-By"))
}
