package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A path is refused with a dot segment as the client sends it (targetOK);
// a policy must not make one either: url_rewriting's gsub of "x" turns
// "/some/.x./admin", which passes, into "/some/../admin", which the app
// would resolve to "/admin", past the mapping rules that matched "/some".
func TestPathRewrittenIntoADotSegmentIsRefused(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"commands":[{"op":"gsub","regex":"x","replace":""}]}`), nil)
	a := call(t, "GET", cg.base+"/some/.x./admin?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusBadRequest, a.status, a.body)
	assert.Contains(t, a.body, "dot segments")
	assert.Empty(t, cg.got, "the app got the rewritten path")

	p, _ := rewritten(t, cg, "GET", "/some/.x.y/admin?user_key="+cg.key, nil)
	assert.Equal(t, "/some/..y/admin", p, "a segment that is not a dot segment still goes")
}
