//go:build !agentonly

package main

import "github.com/portolan/portolan/coordinator"

// consulPrefix reads --consul-prefix as the Consul KV folder it names, as
// the coordinator reads every prefix it is given (coordinator.ConsulPrefix):
// the CLI refuses a bad one before it probes Consul for the old layout.
func consulPrefix(raw string) (string, error) { return coordinator.ConsulPrefix(raw) }
