package mgmt

import (
	"net/http"

	"github.com/portolan/portolan/internal/browsercall"
)

// checkCaller refuses calls a web page makes through a browser on the
// proxy's host (browsercall.Refusal): the proxy needs no credential and adds
// an admin token. It returns the refusal, or "".
func (p *Proxy) checkCaller(r *http.Request) string {
	return browsercall.Refusal(r, p.listen, "the management proxy, which adds its admin token")
}
