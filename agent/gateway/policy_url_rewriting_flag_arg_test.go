package gateway

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// query_args_commands change what ngx.req.get_uri_args read, and
// ngx.req.set_uri_args writes it back: an argument sent without '='
// ("?debug") is read as true and written back as "debug", not "debug=";
// one sent as "empty=" stays "empty=". Upstreams that tell a flag from an
// empty value get what the client sent.
func TestURLRewritingQueryArgsKeepValuelessArguments(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"query_args_commands":[{"op":"set","arg":"v","value":"2"}]}`), nil)
	_, q := rewritten(t, cg, "GET", "/?debug&empty=&user_key="+cg.key, nil)
	args := strings.Split(q, "&")
	assert.Contains(t, args, "debug", q)
	assert.Contains(t, args, "empty=", q)
	assert.Contains(t, args, "v=2", q)
}

// rewrite_url_captures sets its template's arguments with
// ngx.req.set_uri_args over what get_uri_args read, as url_rewriting does:
// the request's flag argument ("?debug") is kept bare.
func TestPolicyRewriteURLCapturesKeepsValuelessArguments(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"/{a}/{b}","template":"/x?my_arg={a}"}]`))
	_, q := rewritten(t, cg, "GET", "/abc/def?debug&user_key="+cg.key, nil)
	assert.Equal(t, "debug&my_arg=abc&user_key="+cg.key, q)
}
