package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(newApp(), os.Args, os.Stderr))
}

// run runs app with args and returns the process exit code: 0 on
// success, the code of a cli.ExitCoder error (cli.Exit), 1 for any other
// error. A non-empty error is printed on stderr as "portolan: <error>".
func run(app *cli.App, args []string, stderr io.Writer) int {
	err := app.Run(args)
	if err == nil {
		return 0
	}
	code := 1
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "portolan: %s\n", msg)
	}
	return code
}

// newApp builds the portolan CLI: global flags, the --config file and the
// logger set up in Before, and the commands, every flag also read from its
// PORTOLAN_* environment variable (envvars.go) and the --config file
// (config.go); a usage error is answered in three lines, not the help page.
func newApp() *cli.App {
	return &cli.App{
		Name:        "portolan",
		HelpName:    "portolan",
		Usage:       buildUsage,
		Description: configHelp,
		Version:     version,
		Flags:       withEnv(nil, globalFlags()),
		Commands:    withUsageErrors(withConfigCommands(withEnvCommands(withSecretFileCommands(commands())))),
		Before: func(c *cli.Context) error {
			if err := setupConfig(c); err != nil {
				return err
			}
			return setupLogger(c)
		},
		Action:               unknownCommand,
		OnUsageError:         usageError,
		EnableBashCompletion: true,
		// main reports errors and picks the exit code; without this the
		// library would print ExitCoder errors and call os.Exit itself.
		ExitErrHandler: func(*cli.Context, error) {},
		Writer:         os.Stdout,
		ErrWriter:      os.Stderr,
	}
}
