package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"

	"github.com/urfave/cli/v2"
)

// Names of the global flags.
const (
	flagLogFormat = "log-format"
	flagLogLevel  = "log-level"
	flagConfig    = "config"
)

// globalFlags are the flags of the app itself, given before any command.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:  flagLogFormat,
			Usage: "log encoding: json, console, or auto (console on a terminal, json otherwise)",
			Value: logFormatAuto,
		},
		&cli.StringFlag{
			Name:  flagLogLevel,
			Usage: "minimum level logged: debug, info, warn or error",
			Value: "info",
		},
		&cli.StringFlag{
			Name:  flagConfig,
			Usage: "read flags from this YAML file (see DESCRIPTION above); flags and environment variables win over it",
		},
	}
}

// flagField is the settable field of a flag struct with the given name and
// type. Every urfave/cli flag type has EnvVars and Category fields, and
// none a setter, so one reflective path serves them all (and flag types of
// our own that embed one).
func flagField(f cli.Flag, name string, typ reflect.Type) (reflect.Value, bool) {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	field := v.Elem().FieldByName(name)
	if !field.IsValid() || !field.CanSet() || field.Type() != typ {
		return reflect.Value{}, false
	}
	return field, true
}

// interspersed lets a command take flags after its positional arguments
// (`import composition FILE --home URL`), which urfave/cli v2 does not parse:
// it parses the arguments again, flags anywhere, and returns a context that
// sees every flag together with the positional arguments alone. Its errors
// name the command; a flag it does not know, or a bad value, is answered as
// one before the arguments is (usageError: exit status 2).
func interspersed(c *cli.Context) (*cli.Context, []string, error) {
	name := commandName(c)
	set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range c.Command.Flags {
		if err := f.Apply(set); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	positional, err := parseInterspersed(set, c.Args().Slice())
	if err != nil {
		return nil, nil, usageError(c, err, true)
	}
	// Apply read the environment; the values c has that the arguments after
	// the positional ones did not give (before them, or from the --config
	// file) count too.
	after := map[string]bool{}
	set.Visit(func(f *flag.Flag) { after[f.Name] = true })
	for _, flagName := range c.FlagNames() {
		if after[flagName] || !c.IsSet(flagName) || set.Lookup(flagName) == nil { // global flags are the app's, not the command's
			continue
		}
		if err := set.Set(flagName, fmt.Sprint(c.Value(flagName))); err != nil {
			return nil, nil, fmt.Errorf("%s: --%s: %w", name, flagName, err)
		}
	}
	nc := cli.NewContext(c.App, set, c)
	nc.Command = c.Command
	if err := resolveSecretsAfter(c, nc, set, after); err != nil {
		return nil, nil, err
	}
	return nc, positional, nil
}

// resolveSecretsAfter resolves again, in nc, each secret flag of set whose
// value or -file twin was given after the positional arguments, which the
// command's Before (readSecretFiles, on c) did not see. A flag given there
// is the command line's; one not given there keeps the source it had in c,
// but a secret c read from its twin's file does not count against the
// twin given again.
func resolveSecretsAfter(c, nc *cli.Context, set *flag.FlagSet, after map[string]bool) error {
	source := func(name string) valueSource {
		switch {
		case nc.String(name) == "":
			return sourceNone
		case after[name]:
			return sourceCommandLine
		case sourcesOf(c)[name].fromTwin:
			return sourceNone
		}
		return sourceOf(c, name)
	}
	for _, secret := range secretFlagNames {
		file := secret + fileSuffix
		if set.Lookup(file) == nil || !after[secret] && !after[file] {
			continue
		}
		value, fromFile, err := resolveSecret(nc, secret, source(secret), source(file))
		if err != nil {
			return cli.Exit(commandName(c)+": "+err.Error(), 2)
		}
		if !fromFile {
			continue
		}
		if err := nc.Set(secret, value); err != nil {
			return fmt.Errorf("%s: --%s: %w", commandName(c), file, err)
		}
	}
	return nil
}

// inCategory files flags under a heading of a command's --help.
func inCategory(category string, flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		if field, ok := flagField(f, "Category", reflect.TypeOf("")); ok {
			field.SetString(category)
		}
	}
	return flags
}

// parseInterspersed parses args with set, flags anywhere among the positional
// arguments (all positional after "--"), and returns the positional ones.
func parseInterspersed(set *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		if err := set.Parse(args); err != nil {
			return nil, err
		}
		args = set.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return positional, nil
}
