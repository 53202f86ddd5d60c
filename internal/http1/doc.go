// Package http1 is Portolan's strict subset of HTTP/1.1 (RFC 9112): the
// serving loop the gateway runs instead of net/http's, the reader of an
// upstream's answer head, and the one list of hop-by-hop headers every proxy
// in Portolan uses.
//
// It knows nothing of 3scale, the gateway or the agent, and must never
// import a Portolan package but internal/backoff.
package http1
