// Package gateway is the APIcast-style gateway an agent runs in front of its
// app: it reads credentials, matches mapping rules, authenticates the
// application and checks its plan's limits against an immutable view of the
// composition, then forwards the request to the app, or to another instance
// serving the application's plan (plan-aware routing).
//
// It serves HTTP/1.1 through internal/http1's lean loop, over TLS too, and
// HTTP/2 (ALPN "h2", or h2c) through x/net/http2 (serve.go), and records
// usage through the Admitter it is given. It must never import agent or agent/ledger.
package gateway
