// Package policy is the gateway's policy chain: APIcast's policies as Go
// values, run in the chain's order through APIcast's phases (rewrite,
// access, content, header filter, body filter, log), each policy one file.
//
// A policy sees one request through a Context and the gateway through the
// Env it was built with; the apicast element itself (credentials, mapping
// rules, authorization, limits, forwarding) belongs to the gateway, which
// hands it to Build. This package must never import agent/gateway, agent or
// agent/ledger.
package policy
