// Command portolan is Portolan's single binary: the coordinator ("home")
// that owns the API-management composition and serves 3scale-compatible
// APIs, the agent that is every container's entrypoint, and the CLI.
//
// This package holds CLI wiring only: flags, environment variables and
// exit codes. Every flag of every command can also be set through an
// environment variable named PORTOLAN_<FLAG>, upper-cased with dashes
// turned into underscores (--data-dir reads PORTOLAN_DATA_DIR). A flag
// given on the command line wins over its environment variable, which
// wins over the default.
//
// Usage:
//
//	portolan [global flags] command [command flags] [arguments...]
//
// Global flags:
//
//	--log-format json|console   log encoding (default json)
//	--log-level debug|info|warn|error   minimum level logged (default info)
//	--version, -v               print the version
//	--help, -h                  show help
//
// Logs go to standard error. On failure portolan prints
// "portolan: <error>" on standard error and exits 1, or with the code of
// a cli.Exit error.
package main
