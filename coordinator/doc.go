// Package coordinator is Portolan's home process: it opens the composition
// store, resolves the access tokens, wires the instance registry, the usage
// counters (package usage, shared through Consul when one is configured) and
// gossip together, and serves the 3scale APIs, the agent protocol, Portolan's
// own admin API (export/import, placements) and Prometheus metrics over HTTP
// until its context ends. It holds wiring, not domain logic: only cmd (and
// tests) import it; no other package of Portolan may.
package coordinator
