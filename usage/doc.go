// Package usage is home's usage counters: per application, metric, period
// and period start for the seven 3scale periods, and per service for
// analytics, in bbolt (usage.db, File), written through a group-committed
// write-ahead log (usage.wal, WALFile) that is checkpointed into it in the
// background, with the current periods mirrored in memory (Store).
// Agents' usage batches are checked against the composition (ValidateBatch)
// and applied exactly once (Store.Apply); limit decisions are ordered
// (Store.Admit). Coordinators sharing a Consul publish their counters in
// Consul KV and add up each other's (StartSharing), so limits hold across
// them; other per-service counters share the same way (StartSharingOf:
// the coordinator's counts of the gateway's global rate limit windows). Usage counted raises apisonator's backend events (Alerts: first
// traffic, first daily traffic, usage alerts at the service's alert
// limits), kept in usage.db too (written there directly, not logged).
//
// The batch wire types are registry's (registry.UsageBatch, UsageReply).
// usage must never import coordinator, agent, threescale or gossip, nor serve
// HTTP: the coordinator wires it to its APIs.
package usage
