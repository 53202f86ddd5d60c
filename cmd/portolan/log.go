package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
)

// loggerKey is the cli.App.Metadata key under which the Before hook stores
// the logger.
const loggerKey = "logger"

// Accepted values of --log-format and --log-level.
const (
	logFormatAuto    = "auto" // console on a terminal, json otherwise
	logFormatJSON    = "json"
	logFormatConsole = "console"
)

var logLevels = map[string]zerolog.Level{
	"debug": zerolog.DebugLevel,
	"info":  zerolog.InfoLevel,
	"warn":  zerolog.WarnLevel,
	"error": zerolog.ErrorLevel,
}

// newLogger returns a logger writing to w in the given format ("auto",
// "json" or "console") that drops events below level ("debug", "info",
// "warn" or "error"). Values are matched case-insensitively; any other value
// is an error that names it. terminal tells whether w is a terminal: "auto"
// is console there and JSON elsewhere (a file, a pipe, a log collector), and
// the console format is coloured only there, and only when NO_COLOR is
// unset or empty (https://no-color.org).
func newLogger(format, level string, w io.Writer, terminal bool) (zerolog.Logger, error) {
	lvl, ok := logLevels[strings.ToLower(strings.TrimSpace(level))]
	if !ok {
		return zerolog.Nop(), fmt.Errorf("invalid log level %q: want debug, info, warn or error", level)
	}
	f := strings.ToLower(strings.TrimSpace(format))
	if f == logFormatAuto {
		f = logFormatJSON
		if terminal {
			f = logFormatConsole
		}
	}
	var out io.Writer
	switch f {
	case logFormatJSON:
		out = w
	case logFormatConsole:
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !colorAllowed(terminal)}
	default:
		return zerolog.Nop(), fmt.Errorf("invalid log format %q: want auto, json or console", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// colorAllowed tells whether output to a terminal (or not) may be coloured:
// only a terminal, and only without NO_COLOR.
func colorAllowed(terminal bool) bool {
	return terminal && os.Getenv("NO_COLOR") == ""
}

// setupLogger is the app's Before hook: it builds the logger from the
// global flags and stores it in the app's Metadata.
func setupLogger(c *cli.Context) error {
	w := errWriter(c)
	logger, err := newLogger(c.String(flagLogFormat), c.String(flagLogLevel), w, isTerminal(w))
	if err != nil {
		return err
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]interface{}{}
	}
	c.App.Metadata[loggerKey] = logger
	return nil
}

// loggerFrom returns the logger built by the app's Before hook. Without
// one (an action run outside the app) it returns a JSON logger at info
// level on the app's error writer.
func loggerFrom(c *cli.Context) zerolog.Logger {
	if c != nil && c.App != nil {
		if l, ok := c.App.Metadata[loggerKey].(zerolog.Logger); ok {
			return l
		}
	}
	return zerolog.New(errWriter(c)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// errWriter is where logs go: the app's ErrWriter, standard error by default.
func errWriter(c *cli.Context) io.Writer {
	if c != nil && c.App != nil && c.App.ErrWriter != nil {
		return c.App.ErrWriter
	}
	return os.Stderr
}

// isTerminal tells whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
