// Package registry tracks the instances that phone home: registration,
// heartbeats, the TTL state machine (passing, warning, critical, draining),
// removal of instances critical for too long, their placement in the
// composition, and the service map with Consul-style blocking queries.
//
// Instances are soft state: nothing here is persisted, and after a coordinator
// restart the registry fills up again from the agents' heartbeats.
//
// It also holds the protocol's wire types and its paths (paths.go), shared
// by the server's route table and the one client, registry/client. It
// imports composition and small internal helpers; never the coordinator,
// the agent, the CLI or its own client.
package registry
