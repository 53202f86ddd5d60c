package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

// versionInfo is what `portolan version` prints.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Build   string `json:"build"` // "full", or "agent" for the agent build (README "Two builds")
}

func currentVersion() versionInfo {
	return versionInfo{Version: version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Build: buildName}
}

// versionCommand prints the version, the Go version it was built with, the
// platform and the build; --version prints the first alone.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version, the Go version, the platform and the build (full or agent)",
		UsageText: "portolan version [--json]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("version: takes no arguments", 2)
			}
			v := currentVersion()
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				if err := enc.Encode(v); err != nil {
					return fmt.Errorf("version: %w", err)
				}
				return nil
			}
			_, err := fmt.Fprintf(c.App.Writer, "portolan version %s\ngo version %s\nplatform %s/%s\nbuild %s\n", v.Version, v.Go, v.OS, v.Arch, v.Build)
			return err
		},
	}
}
