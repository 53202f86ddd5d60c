package main

// Where a flag's value came from.
//
// The README promises that the command line wins over the environment,
// which wins over the --config file. urfave/cli v2 puts all three in one
// flag.FlagSet and keeps no record of which gave a value, which is enough
// while one flag has one value, but not to rank two flags against each
// other: a secret and its -file twin (secretflags.go). sourceOf answers
// for those, with what this run recorded: the --config file records what
// it sets (configFile.apply), readSecretFiles records a secret it read
// from its twin's file, and the rest is told apart by whether the
// arguments set the flag.

import (
	"github.com/urfave/cli/v2"
)

// valueSource ranks where a flag's value came from: a higher one wins.
type valueSource int

const (
	sourceNone valueSource = iota
	sourceConfig
	sourceEnv
	sourceCommandLine
)

// where says where a value of source s was given, for messages.
func (s valueSource) where() string {
	switch s {
	case sourceConfig:
		return "in the --config file"
	case sourceEnv:
		return "in the environment"
	case sourceCommandLine:
		return "on the command line"
	}
	return "nowhere"
}

// sourcesKey is the cli.App.Metadata key of the run's flagSources.
const sourcesKey = "flag-sources"

// flagSource is where the value of one flag of the running command came
// from, and whether it was read from its -file twin (then source is the
// twin's).
type flagSource struct {
	source   valueSource
	fromTwin bool
}

// flagSources are the recorded sources of the running command's flags, by
// name. One command runs in a process, so names do not collide.
type flagSources map[string]flagSource

// sourcesOf is the run's flagSources, made on first use.
func sourcesOf(c *cli.Context) flagSources {
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]interface{}{}
	}
	m, ok := c.App.Metadata[sourcesKey].(flagSources)
	if !ok {
		m = flagSources{}
		c.App.Metadata[sourcesKey] = m
	}
	return m
}

// recordSource notes that flag name was set from src by the program, not
// by the argument parser.
func recordSource(c *cli.Context, name string, src flagSource) {
	sourcesOf(c)[name] = src
}

// sourceOf is where the value of the string flag name of c's command came
// from: sourceNone when it is empty.
func sourceOf(c *cli.Context, name string) valueSource {
	if c.String(name) == "" {
		return sourceNone
	}
	sources := sourcesOf(c)
	if s, ok := sources[name]; ok {
		return s.source
	}
	s := sourceEnv
	if setByArguments(c, name) {
		s = sourceCommandLine
	}
	// setByArguments leaves the flag counted as set: remember the answer.
	sources[name] = flagSource{source: s}
	return s
}

// setByArguments tells whether string flag name of c's own command is in
// its flag set's set flags, which the arguments (or a Set) put there and
// the environment does not: urfave/cli v2 reads the environment into the
// default value, and its IsSet counts both. Nothing exported lists the set
// flags, but NumFlags counts them: setting the flag to its own value adds
// it if it was not there, and changes nothing else of a string flag that
// already has a value (IsSet is true for it either way). Call it on a
// string flag with a value only, and once (sourceOf remembers).
func setByArguments(c *cli.Context, name string) bool {
	before := c.NumFlags()
	if err := c.Set(name, c.String(name)); err != nil {
		return false
	}
	return c.NumFlags() == before
}
