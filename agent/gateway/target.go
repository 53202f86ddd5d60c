package gateway

import (
	"net/http"
	"strings"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// targetOK reports whether a request's target may be matched against the
// mapping rules and forwarded. A path with a dot segment is refused, as
// sent ("/articles/../admin") or once decoded ("/articles/%2e%2E/admin",
// "%2F.." included, since net/http decodes the path before the gateway sees
// it): matched by prefix, it would reach a resource the rules never allowed
// once the app, or anything on the way, resolves it. Backslashes count as
// separators, as some apps take them. Control bytes are refused in the path,
// raw or decoded (%00, %0a, %0d, %7f...), so that no app ever gets a NUL or a
// line end in its path. The query is kept as data: raw control bytes never
// get this far (both HTTP parsers refuse them), and encoded ones are values
// an app may legitimately take (a newline in a form field) but for %00.
//
// Refusing rather than normalising keeps the rule simple: the upstream gets
// exactly the path that was matched. Browsers and HTTP clients resolve dot
// segments before they send, so only crafted requests carry them.
func targetOK(r *http.Request) bool {
	return policy.PathOK(r.URL.Path) && !strings.Contains(r.URL.RawQuery, "%00")
}
