package main

// Environment variables of flags.
//
// One name may mean different things in different commands: --output is a
// format for `map` and a file for `swagger select`, --token an agent token
// for `agent` and the admin token for `export`. A single PORTOLAN_<FLAG>
// per name would let a variable set for one command change another, so the
// variable is named after the command too:
//
//   - a global flag reads PORTOLAN_<FLAG> (--log-level: PORTOLAN_LOG_LEVEL);
//   - a flag of sharedFlagNames reads PORTOLAN_<FLAG> in every command
//     outside the daemons: it means the same thing in each (--home: the
//     coordinator's URL, PORTOLAN_HOME), which TestEnvVarsDoNotCollide checks;
//   - every other flag reads PORTOLAN_<COMMAND PATH>_<FLAG>, the path words
//     and the flag upper-cased, dashes turned into underscores (swagger
//     select --output: PORTOLAN_SWAGGER_SELECT_OUTPUT, export --token:
//     PORTOLAN_EXPORT_TOKEN);
//   - the daemons (agent, coordinator) share nothing: every flag of theirs
//     is PORTOLAN_AGENT_<FLAG> or PORTOLAN_COORDINATOR_<FLAG>, so that a
//     container's environment configures its daemon and nothing else.
//
// Consul's own variables follow Portolan's where they mean what Consul means
// by them (consulEnvVars), and `status` reads the addresses its daemon was
// given (daemonAddrEnvVars).

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "PORTOLAN_"

// sharedFlagNames are the flags whose variable has no command in its name:
// the connection to home, which every client command has and means the same
// in each, and the config file. A name goes here only if its flags have the
// same type and usage in every non-daemon command (TestEnvVarsDoNotCollide).
var sharedFlagNames = []string{flagConfig, "home", "ca-file", "ca-pin", "tls-client-cert", "tls-client-key"}

// daemonCommands keep every flag under their own prefix (see the file's
// comment).
var daemonCommands = []string{"agent", "coordinator"}

// consulEnvVars are Consul's variables, read after Portolan's, by flag name
// and the commands where the flag is Consul's HTTP address or token. The
// coordinator's and map's --consul are left out on purpose: there the flag
// switches the store (coordinator) or the source (map) to Consul, and a
// CONSUL_HTTP_ADDR set for the consul CLI must not do that silently.
var consulEnvVars = map[string]struct {
	env      string
	commands []string
}{
	"consul":            {"CONSUL_HTTP_ADDR", []string{"agent"}},
	"consul-token":      {"CONSUL_HTTP_TOKEN", []string{"agent", "coordinator", "map"}},
	"consul-token-file": {"CONSUL_HTTP_TOKEN_FILE", []string{"agent", "coordinator", "map"}},
}

// commandLineOnly are the flags that read no environment variable: they
// act once, on purpose, and a variable outlives the start it was set for.
// PORTOLAN_COORDINATOR_START_EMPTY left in a manifest would start home
// empty after any later loss of its composition instead of refusing to.
var commandLineOnly = []string{"start-empty"}

// daemonAddrEnvVars are daemons' variables that `status` reads after its
// own, by flag: run in a daemon's container (a HEALTHCHECK), status finds
// the daemon where the container's environment put it. They name the same
// address in both commands, so reading them cannot change what the daemon
// does.
var daemonAddrEnvVars = map[string]map[string]string{
	"status": {"listen": "PORTOLAN_COORDINATOR_LISTEN", "via": "PORTOLAN_AGENT_API"},
}

// envVarName is the environment variable of the flag named flagName in the
// command at path (nil for the app's global flags); see the file's comment.
func envVarName(path []string, flagName string) string {
	words := []string{}
	if len(path) > 0 && (slices.Contains(daemonCommands, path[0]) || !slices.Contains(sharedFlagNames, flagName)) {
		words = append(words, path...)
	}
	words = append(words, flagName)
	return envPrefix + strings.ToUpper(strings.ReplaceAll(strings.Join(words, "_"), "-", "_"))
}

// withEnv makes every flag of the command at path also read its
// environment variable (envVarName, from the flag's first name), and
// Consul's where consulEnvVars says so. Portolan's variable goes first in
// EnvVars, ahead of any the flag already lists; none is added twice. The
// flags are changed in place and the same slice is returned. A flag type
// that has no EnvVars field panics: that is a programming error, caught by
// the tests that build the app.
func withEnv(path []string, flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		names := f.Names()
		if len(names) == 0 || slices.Contains(commandLineOnly, names[0]) {
			continue
		}
		field, ok := flagField(f, "EnvVars", reflect.TypeOf([]string(nil)))
		if !ok {
			panic(fmt.Sprintf("withEnv: flag %q of type %T has no EnvVars field", names[0], f))
		}
		vars := field.Interface().([]string)
		if ce, ok := consulEnvVars[names[0]]; ok && len(path) > 0 && slices.Contains(ce.commands, path[0]) && !slices.Contains(vars, ce.env) {
			vars = append(vars, ce.env)
		}
		if len(path) == 1 {
			if env, ok := daemonAddrEnvVars[path[0]][names[0]]; ok && !slices.Contains(vars, env) {
				vars = append(vars, env)
			}
		}
		field.Set(reflect.ValueOf(addEnv(vars, envVarName(path, names[0]))))
	}
	return flags
}

// addEnv puts env first in vars unless vars already holds it.
func addEnv(vars []string, env string) []string {
	if slices.Contains(vars, env) {
		return vars
	}
	return append([]string{env}, vars...)
}

// withEnvCommands applies withEnv to the flags of every command and,
// recursively, of every subcommand, each with its command path.
func withEnvCommands(cmds []*cli.Command) []*cli.Command {
	return eachCommand(nil, cmds, func(path []string, cmd *cli.Command) { cmd.Flags = withEnv(path, cmd.Flags) })
}

// eachCommand calls fn with every command of cmds and, recursively, every
// subcommand, each with its command path under parent, and returns cmds.
func eachCommand(parent []string, cmds []*cli.Command, fn func(path []string, cmd *cli.Command)) []*cli.Command {
	for _, cmd := range cmds {
		if cmd == nil {
			continue
		}
		path := append(slices.Clone(parent), cmd.Name)
		fn(path, cmd)
		eachCommand(path, cmd.Subcommands, fn)
	}
	return cmds
}

// flagEnvVar is the first environment variable of c's command's flag name,
// for messages ("--token is required (or PORTOLAN_EXPORT_TOKEN)"); "" when
// the command has no such flag or it reads none.
func flagEnvVar(c *cli.Context, name string) string {
	if c == nil || c.Command == nil {
		return ""
	}
	for _, f := range c.Command.Flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok && len(ev.GetEnvVars()) > 0 {
			return ev.GetEnvVars()[0]
		}
	}
	return ""
}
