package main

// Secret flags and their --*-file twins.
//
// A secret given on the command line shows in ps and /proc/PID/cmdline; given
// in a file (a Docker or Kubernetes secret, a 0600 file) it does not. Every
// secret flag therefore has a twin NAME-file that reads the secret from a
// file: withSecretFileCommands (applied to every command in newApp) adds the
// twin after each string flag named in secretFlagNames and, before the
// command runs, reads the file into the flag, so that actions keep reading
// c.String(NAME) and need no change. To give a new secret flag its twin, add
// its name to secretFlagNames. A flag that is not a single string (a
// repeatable key) reads its twin with readSecretFileFor, as
// --gossip-key-file does.
//
// The flag and its twin follow the precedence of every flag: given from two
// sources, the command line wins over the environment, which wins over the
// --config file (flagsource.go), so that --token-file on the command line
// overrides a PORTOLAN_*_TOKEN or CONSUL_HTTP_TOKEN left in the
// environment; both from the same source are refused. The file is read at
// most maxSecretFileBytes, one trailing newline (echo adds it) trimmed, an
// empty or multi-line secret refused, and a warning given, as ssh does of a
// private key, when everyone may read it; such a file is not refused:
// Docker and Kubernetes mount secrets 0444/0644 by default. The twin's
// environment variable comes from withEnv like any flag's: the agent's
// --token-file is PORTOLAN_AGENT_TOKEN_FILE.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// fileSuffix names the twin of a secret flag.
const fileSuffix = "-file"

// maxSecretFileBytes bounds a secret file: a token is short, and a mistaken
// path to a large file must not be read whole.
const maxSecretFileBytes = 64 << 10

// secretFlagNames are the secret flags, by name, in every command: the
// agent's and `portolan map`'s --token (an agent token), export's and
// import's --token (an access token), the coordinator's --access-token,
// --agent-token, --consul-token, and the management proxy's --mgmt-token.
var secretFlagNames = []string{"token", "access-token", "agent-token", "consul-token", "mgmt-token"}

// withSecretFileCommands gives every secret flag of cmds, and of their
// subcommands, its -file twin, read before the command runs (see the file's
// comment). It changes the commands in place and returns them.
func withSecretFileCommands(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		if cmd == nil {
			continue
		}
		var names []string
		cmd.Flags, names = withSecretFiles(cmd.Flags)
		if len(names) > 0 {
			cmd.Before = readSecretFiles(names, cmd.Before)
		}
		withSecretFileCommands(cmd.Subcommands)
	}
	return cmds
}

// withSecretFiles returns flags with a NAME-file twin after each string flag
// whose name is in secretFlagNames, and the names of those flags.
func withSecretFiles(flags []cli.Flag) ([]cli.Flag, []string) {
	out := make([]cli.Flag, 0, len(flags)+2)
	var names []string
	for _, f := range flags {
		out = append(out, f)
		sf, ok := f.(*cli.StringFlag)
		if !ok || !slices.Contains(secretFlagNames, sf.Name) {
			continue
		}
		out = append(out, secretFileFlag(sf))
		names = append(names, sf.Name)
	}
	return out, names
}

// readSecretFiles is a command's Before: it sets each secret flag from its
// file when the twin is given and wins (resolveSecret), then runs next (the
// command's own Before).
func readSecretFiles(names []string, next cli.BeforeFunc) cli.BeforeFunc {
	return func(c *cli.Context) error {
		for _, name := range names {
			fileSource := sourceOf(c, name+fileSuffix)
			if fileSource == sourceNone {
				continue
			}
			secret, fromFile, err := resolveSecret(c, name, sourceOf(c, name), fileSource)
			if err != nil {
				return cli.Exit(commandName(c)+": "+err.Error(), 2)
			}
			if !fromFile {
				continue
			}
			if err := c.Set(name, secret); err != nil {
				return fmt.Errorf("--%s%s: %w", name, fileSuffix, err)
			}
			recordSource(c, name, flagSource{source: fileSource, fromTwin: true})
		}
		if next != nil {
			return next(c)
		}
		return nil
	}
}

// secretFileFlag is the -file twin of a secret flag.
func secretFileFlag(f *cli.StringFlag) *cli.StringFlag {
	return &cli.StringFlag{
		Name:     f.Name + fileSuffix,
		Category: f.Category,
		Usage:    "read --" + f.Name + " from this file (one trailing newline is dropped), so that it does not show in ps",
	}
}

// commandName is the running command's path without the app's name
// ("token list"), for messages.
func commandName(c *cli.Context) string {
	return strings.TrimPrefix(c.Command.HelpName, c.App.HelpName+" ")
}

// resolveSecret is the secret of flag name, given where its value and its
// twin's file name came from: the value when it ranks higher, else the
// content of the file (fromFile true). Both from one source are refused.
func resolveSecret(c *cli.Context, name string, valueSource, fileSource valueSource) (secret string, fromFile bool, err error) {
	file := name + fileSuffix
	if fileSource == sourceNone || valueSource > fileSource {
		return c.String(name), false, nil
	}
	if valueSource == fileSource {
		return "", false, fmt.Errorf("--%s and --%s are both set %s: give the secret one way", name, file, fileSource.where())
	}
	path := c.String(file)
	b, err := readSecretFileFor(c, file, path)
	if err != nil {
		return "", false, err
	}
	secret, err = oneSecret(path, b)
	if err != nil {
		return "", false, fmt.Errorf("--%s: %w", file, err)
	}
	return secret, true, nil
}

// readSecretFileFor reads the secret file path that flag names, and warns
// when everyone may read it. Group-readable is how a non-root process
// reads a mounted secret it does not own (a Kubernetes Secret with fsGroup,
// mode 0440), so only a file everyone may read is worth a warning.
func readSecretFileFor(c *cli.Context, flag, path string) ([]byte, error) {
	b, mode, err := readSecretFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	if mode&0o007 != 0 {
		log := loggerFrom(c)
		log.Warn().Str("flag", flag).Str("file", path).Str("mode", mode.String()).
			Msg("the secret file can be read by everyone: chmod 600 it (or 640 for a group the process runs in)")
	}
	return b, nil
}

// readSecretFile reads a secret file, at most maxSecretFileBytes, and its
// permission bits. A named pipe is read too (--token-file <(vault read ...)).
func readSecretFile(path string) ([]byte, os.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open the secret file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("stat the secret file: %w", err)
	}
	if !info.Mode().IsRegular() && info.Mode()&os.ModeNamedPipe == 0 {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read the secret file: %w", err)
	}
	if len(b) > maxSecretFileBytes {
		return nil, 0, fmt.Errorf("%s is over %d bytes: not a secret file", path, maxSecretFileBytes)
	}
	return b, info.Mode().Perm(), nil
}

// oneSecret is the single-line secret the file at path holds: one
// trailing newline dropped; empty or more than one line refused.
func oneSecret(path string, b []byte) (string, error) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", errors.New(path + " is empty")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s holds more than one line: want the secret alone", path)
	}
	return s, nil
}
