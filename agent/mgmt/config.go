package mgmt

import (
	"crypto/tls"
	"time"

	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/swagger"
)

// Defaults and limits of the management proxy.
const (
	DefaultListen  = "127.0.0.1:3001"
	DefaultTimeout = 30 * time.Second
	maxBody        = 1 << 20  // request bodies; larger → 413
	maxResponse    = 16 << 20 // upstream answers; larger → 502
	specPath       = "/openapi.json"
	staleWarning   = `110 - "Response is Stale"`
	redacted       = "[redacted]"
)

// Config configures the agent's local management proxy: the app calls
// 3scale's Account Management API on it without credentials, and the proxy
// forwards the operations a Swagger selection keeps, with the token added.
type Config struct {
	Listen       string        // default DefaultListen; a bare port or ":port" listens on 127.0.0.1
	Upstream     string        // a 3scale admin URL; "" forwards to the agent's home
	Token        string        // the 3scale access token added to every call; required
	Spec         string        // the management spec, a file or an http(s) URL; required
	Include      []string      // selection rules (swagger.ParseRule); none keeps every operation
	Omit         []string      // selection rules applied after Include
	Transform    string        // YAML transform file (see transformFile); "" for none
	Timeout      time.Duration // upstream timeout, default DefaultTimeout
	CacheEntries int           // read cache bound, default DefaultCacheEntries
	CacheBytes   int64         // read cache bound, default DefaultCacheBytes
	TLS          *tls.Config   // how an https:// upstream is trusted; nil: the system's roots

	// SchemaCheck checks Spec against the OpenAPI schema
	// (openapischema.Check in the full build); nil reads only what the
	// proxy uses of it: the agent build, which leaves libopenapi out.
	SchemaCheck swagger.SchemaCheck

	// Limits bound the proxy's listener: header, body and idle time,
	// header size; zero fields take httpserve's defaults.
	Limits httpserve.Limits
}
