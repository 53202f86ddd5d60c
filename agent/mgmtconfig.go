package agent

import "time"

// Defaults and limits of the management proxy.
const (
	DefaultMgmtListen  = "127.0.0.1:3001"
	DefaultMgmtTimeout = 30 * time.Second
	maxMgmtBody        = 1 << 20  // request bodies; larger → 413
	maxMgmtResponse    = 16 << 20 // upstream answers; larger → 502
	mgmtSpecPath       = "/openapi.json"
	mgmtStaleWarning   = `110 - "Response is Stale"`
	mgmtRedacted       = "[redacted]"
)

// MgmtConfig configures the agent's local management proxy: the app calls
// 3scale's Account Management API on it without credentials, and the proxy
// forwards the operations a Swagger selection keeps, with the token added.
type MgmtConfig struct {
	Listen       string        // default DefaultMgmtListen; a bare port or ":port" listens on 127.0.0.1
	Upstream     string        // a 3scale admin URL; "" forwards to the agent's home
	Token        string        // the 3scale access token added to every call; required
	Spec         string        // the management spec, a file or an http(s) URL; required
	Include      []string      // selection rules (swagger.ParseRule); none keeps every operation
	Omit         []string      // selection rules applied after Include
	Transform    string        // YAML transform file (see mgmtTransformFile); "" for none
	Timeout      time.Duration // upstream timeout, default DefaultMgmtTimeout
	CacheEntries int           // read cache bound, default DefaultMgmtCacheEntries
	CacheBytes   int64         // read cache bound, default DefaultMgmtCacheBytes
}
