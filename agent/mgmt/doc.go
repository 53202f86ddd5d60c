// Package mgmt is the agent's management proxy: it lets the app call the
// 3scale management API locally, only the operations a Swagger/OpenAPI
// selection keeps, with the access token added by the proxy (the app never
// holds it), requests and answers transformed as configured, and GETs
// cached to answer, marked stale, while home is unreachable.
//
// It must never import agent, agent/gateway or agent/ledger.
package mgmt
