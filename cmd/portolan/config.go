package main

// The --config file: flags read from a YAML file, like Consul's
// -config-file.
//
// Keys are flag names. At the top level: the global flags (log-level,
// log-format), the shared flags (home, ca-file, ca-pin, tls-client-cert,
// tls-client-key: applied to every client command that has them, as
// PORTOLAN_HOME is), and one section per command, nested for subcommands:
//
//	log-level: debug
//	home: https://home.example.com:7070
//	ca-pin: sha256:...
//	coordinator:
//	  listen: 0.0.0.0:7070
//	  data-dir: /var/lib/portolan
//	swagger:
//	  select:
//	    output: subset.yaml
//	    include: [tag:Services, tag:Accounts]
//
// A repeatable flag takes a list. The command line wins over the
// environment, which wins over the file, which wins over the defaults; a
// command's section wins over the top level. The whole file is checked
// before any command runs: an unknown key is an error naming the key, the
// file and the line. A file that holds a secret (a token or gossip key) must
// not be readable by everyone.

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
)

// configKey is the cli.App.Metadata key of the parsed --config file.
const configKey = "config"

// maxConfigBytes bounds the config file: a mistaken path to a large file
// must not be read whole.
const maxConfigBytes = 1 << 20

// configHelp documents the file in the app's --help.
const configHelp = `--config FILE (or PORTOLAN_CONFIG) reads flags from a YAML file. Keys are flag
names: at the top level the global flags (log-level, log-format) and the
connection to home (home, ca-file, ca-pin, tls-client-cert, tls-client-key,
for every client command), then one section per command, nested for
subcommands (coordinator: {listen: ..., data-dir: ...}; swagger: {select:
{output: ...}}). A repeatable flag takes a list. Flags and environment
variables win over the file. An unknown key is an error; a file holding a
token must not be readable by everyone.

Environment: a global flag and the connection to home read PORTOLAN_<FLAG>
(PORTOLAN_HOME, PORTOLAN_CA_PIN); every other flag reads
PORTOLAN_<COMMAND>_<FLAG> (PORTOLAN_EXPORT_TOKEN, PORTOLAN_SWAGGER_SELECT_OUTPUT),
the agent's and coordinator's all of theirs (PORTOLAN_AGENT_HOME). Each
command's --help lists its variables.`

// configFile is a parsed --config file.
type configFile struct {
	path string
	root *yaml.Node // a mapping; nil for an empty file
}

// errorf is an error at node n of the file, naming the file and the line.
func (f *configFile) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("--config %s: line %d: %s", f.path, n.Line, fmt.Sprintf(format, args...))
}

// loadConfig reads and parses the file at path and checks every key
// against app's flags and commands.
func loadConfig(path string, app *cli.App) (*configFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("--config %s: larger than %d bytes", path, maxConfigBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err) // yaml.v3 names the line
	}
	f := &configFile{path: path}
	if len(doc.Content) == 0 {
		return f, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, f.errorf(root, "want a mapping of flag names to values")
	}
	f.root = root
	top := topLevelKeys(app)
	if err := f.check(root, "portolan", top, app.Commands); err != nil {
		return nil, err
	}
	if secret := f.secretKey(root); secret != nil && info.Mode().Perm()&0o004 != 0 {
		return nil, f.errorf(secret, "holds a secret (%s) and is readable by everyone: chmod 600 it, or give the secret with --%s%s",
			secret.Value, secret.Value, fileSuffix)
	}
	return f, nil
}

// globalKeys are the app's own flags a file may set: all but help,
// version and --config itself.
func globalKeys(app *cli.App) []string {
	var keys []string
	for _, fl := range app.Flags {
		if fl == cli.HelpFlag || fl == cli.VersionFlag || slices.Contains(fl.Names(), flagConfig) {
			continue
		}
		keys = append(keys, fl.Names()[0])
	}
	return keys
}

// topLevelKeys are the flag names allowed at the top of the file: the
// global flags and the shared ones.
func topLevelKeys(app *cli.App) []string {
	keys := globalKeys(app)
	for _, name := range sharedFlagNames {
		if name != flagConfig {
			keys = append(keys, name)
		}
	}
	return keys
}

// check checks the keys of mapping m, the section of the command named
// where: each is one of flags, or names one of cmds, whose own section is
// checked in turn.
func (f *configFile) check(m *yaml.Node, where string, flags []string, cmds []*cli.Command) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if slices.Contains(flags, key.Value) {
			if slices.Contains(commandLineOnly, key.Value) { // envvars.go: a file outlives the start as a variable does
				return f.errorf(key, "%s: read from the command line only (--%s), not from a file that outlives the start it was meant for", key.Value, key.Value)
			}
			if err := f.checkValue(key, val); err != nil {
				return err
			}
			continue
		}
		cmd := findCommand(cmds, key.Value)
		if cmd == nil && where == "portolan" && fullBuildOnly(key.Value) {
			continue // the full build's, in a file both builds read: not this build's to run
		}
		if cmd == nil {
			return f.errorf(key, "unknown key %q: not a flag of %s, nor one of its commands", key.Value, where)
		}
		if val.Kind != yaml.MappingNode {
			return f.errorf(val, "%s: want a mapping of %s %s's flag names to values", key.Value, where, key.Value)
		}
		if err := f.check(val, where+" "+cmd.Name, commandFlagNames(cmd), cmd.Subcommands); err != nil {
			return err
		}
	}
	return nil
}

// checkValue refuses a value that is neither a scalar nor a list of
// scalars.
func (f *configFile) checkValue(key, val *yaml.Node) error {
	switch val.Kind {
	case yaml.ScalarNode:
		return nil
	case yaml.SequenceNode:
		for _, item := range val.Content {
			if item.Kind != yaml.ScalarNode {
				return f.errorf(item, "%s: a list item must be a single value", key.Value)
			}
		}
		return nil
	}
	return f.errorf(val, "%s: want a value or a list of values", key.Value)
}

// secretKey is the first key, at any depth, that gives a secret flag a
// value. A mapping under a secret's name is a command's section, not a
// secret: `token: {create: {ttl: 24h}}` holds the token command's flags.
func (f *configFile) secretKey(m *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if val.Kind != yaml.MappingNode && (slices.Contains(secretFlagNames, key.Value) || key.Value == "gossip-key") {
			return key
		}
		if val.Kind == yaml.MappingNode {
			if s := f.secretKey(val); s != nil {
				return s
			}
		}
	}
	return nil
}

// findCommand is the command of cmds named name.
func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c != nil && c.Name == name {
			return c
		}
	}
	return nil
}

// commandFlagNames are the first names of cmd's flags, help left out.
func commandFlagNames(cmd *cli.Command) []string {
	var names []string
	for _, fl := range cmd.Flags {
		if fl != cli.HelpFlag {
			names = append(names, fl.Names()[0])
		}
	}
	return names
}

// section is the mapping of the command at path ("swagger", "select"), nil
// when the file has none.
func (f *configFile) section(path []string) *yaml.Node {
	m := f.root
	for _, name := range path {
		if m == nil {
			return nil
		}
		m = mappingValue(m, name)
		if m != nil && m.Kind != yaml.MappingNode {
			return nil
		}
	}
	return m
}

// mappingValue is the value of key in mapping m, nil when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// apply sets, in c, every flag of names that m gives a value and that is
// not set already (on the command line or by its environment variable),
// and records that the file set it (flagsource.go).
func (f *configFile) apply(c *cli.Context, m *yaml.Node, names []string) error {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if !slices.Contains(names, key.Value) || c.IsSet(key.Value) {
			continue
		}
		values := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			values = val.Content
		}
		for _, v := range values {
			if err := c.Set(key.Value, v.Value); err != nil {
				return f.errorf(v, "%s: invalid value %q: %v", key.Value, v.Value, err)
			}
		}
		recordSource(c, key.Value, flagSource{source: sourceConfig})
	}
	return nil
}

// setupConfig is the first part of the app's Before: with --config it
// loads the file, keeps it in the app's Metadata for the commands, and sets
// the global flags it gives.
func setupConfig(c *cli.Context) error {
	path := c.String(flagConfig)
	if path == "" {
		return nil
	}
	f, err := loadConfig(path, c.App)
	if err != nil {
		return err
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]interface{}{}
	}
	c.App.Metadata[configKey] = f
	return f.apply(c, f.root, globalKeys(c.App))
}

// withConfigCommands makes every command, and subcommand, first set its
// flags from the --config file (its section, then the shared flags at the
// top level, outside the daemons), before its own Before.
func withConfigCommands(cmds []*cli.Command) []*cli.Command {
	return eachCommand(nil, cmds, func(path []string, cmd *cli.Command) { cmd.Before = configBefore(path, cmd.Before) })
}

// configBefore applies the file to the command at path, then runs next.
func configBefore(path []string, next cli.BeforeFunc) cli.BeforeFunc {
	return func(c *cli.Context) error {
		if f, ok := c.App.Metadata[configKey].(*configFile); ok && f.root != nil && c.Command != nil {
			names := commandFlagNames(c.Command)
			if err := f.apply(c, f.section(path), names); err != nil {
				return err
			}
			if !slices.Contains(daemonCommands, path[0]) {
				shared := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !slices.Contains(sharedFlagNames, n) })
				if err := f.apply(c, f.root, shared); err != nil {
					return err
				}
			}
		}
		if next != nil {
			return next(c)
		}
		return nil
	}
}
