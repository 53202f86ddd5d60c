// Package registry tracks the instances that phone home: registration,
// heartbeats, the TTL state machine (passing, warning, critical, draining),
// removal of instances critical for too long, their placement in the
// composition, and the service map with Consul-style blocking queries.
//
// Instances are soft state: nothing here is persisted, and after a coordinator
// restart the registry fills up again from the agents' heartbeats.
package registry
