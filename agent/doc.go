// Package agent is the entrypoint of every Portolan container,
// `portolan agent [flags] -- CMD [ARGS...]`: it supervises the real process
// (CMD), phones home to the coordinator, and serves a local API.
//
// Supervision (PID 1, reaping, signal forwarding) lives in agent/supervise;
// while it runs, nothing else in the process may wait for children (see
// that package's doc): run them with supervise.CombinedOutput or
// supervise.Spawn.
package agent
