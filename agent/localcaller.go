package agent

import (
	"net/http"

	"github.com/portolan/portolan/internal/browsercall"
	"github.com/portolan/portolan/internal/httpjson"
)

// refuseBrowsers serves next only to callers that are not a web page in a
// browser on the agent's host. The local API has no authentication, so a
// page that rebinds its own name to 127.0.0.1 could otherwise read the
// instance and the service map (every instance's address) through the
// visitor's browser. The rule is the management proxy's
// (browsercall.Refusal), with listen as --api names it. A refused call is
// answered 403 with the reason.
func refuseBrowsers(next http.Handler, listen string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := browsercall.Refusal(r, listen, "the agent's local API"); why != "" {
			httpjson.Write(w, http.StatusForbidden, map[string]string{"error": why})
			return
		}
		next.ServeHTTP(w, r)
	})
}
