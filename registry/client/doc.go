// Package client is the one typed client of the agent ↔ home protocol
// (DESIGN.md, "Home client"), as Consul's api package is of Consul's: one
// Client holding home's address, transport and credential, one method per
// call (Register, Heartbeat, Drain, Deregister, Composition, Map, PostUsage,
// and the admin API's ExportComposition and ImportComposition), blocking
// queries handled once (index in, index out), and typed errors:
// ErrUnknownInstance (register again), ErrUnauthorized (a refused
// credential: Refused gives the 401 or 403) and ErrUnreachable (no answer:
// *UnreachableError names home), apart from home's other answers
// (*StatusError). The agent, the CLI and the tests all use it; the
// paths it calls are registry's constants, which the server's route table
// uses too.
//
// It imports registry (the wire types and paths), internal/pki (how an
// https:// home is trusted: TLS) and the standard library; never the server
// side (coordinator), the agent or the CLI.
package client
