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
// repeatable key) can call secretValue itself on a twin of its own.
//
// secretValue refuses the flag and its file both given, reads at most
// maxSecretFileBytes, trims one trailing newline (echo adds it), refuses an
// empty or multi-line secret, and warns, as ssh does of a private key, when
// the file can be read by group or others; it does not refuse such a file:
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
// file when the twin is given, then runs next (the command's own Before).
func readSecretFiles(names []string, next cli.BeforeFunc) cli.BeforeFunc {
	return func(c *cli.Context) error {
		for _, name := range names {
			if c.String(name+fileSuffix) == "" {
				continue
			}
			secret, err := secretValue(c, name)
			if err != nil {
				return cli.Exit(strings.TrimPrefix(c.Command.HelpName, c.App.HelpName+" ")+": "+err.Error(), 2)
			}
			if err := c.Set(name, secret); err != nil {
				return fmt.Errorf("--%s%s: %w", name, fileSuffix, err)
			}
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

// secretValue is the secret of flag name: its value, or the content of the
// file its -file twin names; "" when neither is given.
func secretValue(c *cli.Context, name string) (string, error) {
	value, path := c.String(name), c.String(name+fileSuffix)
	if path == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("--%s and --%s%s are both set: give the secret one way", name, name, fileSuffix)
	}
	secret, mode, err := readSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("--%s%s: %w", name, fileSuffix, err)
	}
	// Group-readable is how a non-root process reads a mounted secret it
	// does not own (a Kubernetes Secret with fsGroup, mode 0440), so only
	// a file everyone may read is worth a warning.
	if mode&0o007 != 0 {
		log := loggerFrom(c)
		log.Warn().Str("flag", name+fileSuffix).Str("file", path).Str("mode", mode.String()).
			Msg("the secret file can be read by everyone: chmod 600 it (or 640 for a group the process runs in)")
	}
	return secret, nil
}

// readSecretFile reads one secret and the file's permission bits.
func readSecretFile(path string) (string, os.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("open the secret file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("stat the secret file: %w", err)
	}
	if !info.Mode().IsRegular() && info.Mode()&os.ModeNamedPipe == 0 {
		return "", 0, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", 0, fmt.Errorf("read the secret file: %w", err)
	}
	if len(b) > maxSecretFileBytes {
		return "", 0, fmt.Errorf("%s is over %d bytes: not a secret file", path, maxSecretFileBytes)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", 0, errors.New(path + " is empty")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", 0, fmt.Errorf("%s holds more than one line: want the secret alone", path)
	}
	return s, info.Mode().Perm(), nil
}
