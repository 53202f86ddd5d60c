// Command portolan is Portolan's binary: the coordinator ("home") that owns
// the API-management composition and serves 3scale-compatible APIs, the
// agent that is every container's entrypoint, and the CLI.
//
// It has two builds (README "Two builds"): the full one, and the agent
// build (-tags agentonly) that app images carry, with the agent, status,
// version and completion only. build_full.go and build_agent.go hold all
// that differs; files of the full build alone say //go:build !agentonly.
//
// This package holds CLI wiring only: flags, environment variables, the
// --config file and exit codes. Every flag can also be set through an
// environment variable: PORTOLAN_<FLAG> for the global flags and the client
// commands' connection to home (PORTOLAN_HOME), PORTOLAN_<COMMAND>_<FLAG>
// for every other flag (PORTOLAN_EXPORT_TOKEN, PORTOLAN_AGENT_HOME); see
// envvars.go. A flag given on the command line wins over its environment
// variable, which wins over the --config file (config.go), which wins over
// the default.
//
// Usage:
//
//	portolan [global flags] command [command flags] [arguments...]
//
// Global flags:
//
//	--config FILE               read flags from a YAML file
//	--log-format auto|json|console   log encoding (default auto: console on a terminal)
//	--log-level debug|info|warn|error   minimum level logged (default info)
//	--version, -v               print the version
//	--help, -h                  show help
//
// Logs go to standard error. On failure portolan prints
// "portolan: <error>" on standard error and exits 1, or with the code of
// a cli.Exit error.
package main
