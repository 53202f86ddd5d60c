package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// repoRoot is the repository's top directory, from this package's.
const repoRoot = "../.."

// The README states facts about the tree: every path of the repository it
// names (in backquotes or as a link) exists, every `portolan` command it
// shows is one, and every --flag it gives is a flag of some command.
func TestReadmeNamesWhatExists(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	readme := string(b)

	t.Run("paths", func(t *testing.T) {
		for _, p := range readmePaths(t, readme) {
			matches, err := filepath.Glob(filepath.Join(repoRoot, p))
			assert.NoError(t, err, p)
			assert.NotEmpty(t, matches, "README.md names %s, which is not in the tree", p)
		}
	})

	app := newApp()
	t.Run("commands", func(t *testing.T) {
		for _, line := range regexp.MustCompile(`(?m)portolan((?: [a-z][a-z-]*)+)`).FindAllStringSubmatch(readme, -1) {
			words := strings.Fields(line[1])
			cmds := app.Commands
			cmd := findCommand(cmds, words[0])
			if cmd == nil {
				continue // prose: "portolan makes", "portolan runs"
			}
			for _, w := range words[1:] {
				if len(cmd.Subcommands) == 0 {
					break
				}
				sub := findCommand(cmd.Subcommands, w)
				assert.NotNil(t, sub, "README.md shows `portolan%s`: %q has no subcommand %q", line[1], cmd.Name, w)
				if sub == nil {
					break
				}
				cmd = sub
			}
		}
	})

	t.Run("flags", func(t *testing.T) {
		known := map[string]bool{
			"help": true, "version": true,
			// other tools' flags: git describe, docker build, run and COPY
			"always": true, "dirty": true, "tags": true, "pull": true, "network": true, "from": true,
		}
		var collect func([]*cli.Command)
		collect = func(cmds []*cli.Command) {
			for _, c := range cmds {
				for _, f := range c.Flags {
					for _, n := range f.Names() {
						known[n] = true
					}
				}
				collect(c.Subcommands)
			}
		}
		for _, f := range app.Flags {
			for _, n := range f.Names() {
				known[n] = true
			}
		}
		collect(app.Commands)
		var unknown []string
		for _, m := range regexp.MustCompile(`(?:^|[\s\x60(\[/|])--([a-z][a-z0-9-]*[a-z0-9])`).FindAllStringSubmatch(readme, -1) {
			if !known[m[1]] {
				unknown = append(unknown, "--"+m[1])
			}
		}
		sort.Strings(unknown)
		assert.Empty(t, unknown, "README.md gives flags no command has")
	})
}

// readmePaths are the repository paths README.md names: links to relative
// files, and backquoted paths whose first element is a top-level directory
// of the tree (build outputs and a data dir's files are not in the tree).
func readmePaths(t *testing.T, readme string) []string {
	t.Helper()
	entries, err := os.ReadDir(repoRoot)
	require.NoError(t, err)
	top := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "bin" && e.Name() != "dist" && e.Name() != ".tools" { // build outputs: make creates them
			top[e.Name()] = true
		}
	}
	seen := map[string]bool{}
	var paths []string
	add := func(p string) {
		p = strings.TrimSuffix(p, "/")
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for _, m := range regexp.MustCompile("`([A-Za-z0-9_.*/-]+)`").FindAllStringSubmatch(readme, -1) {
		first, _, ok := strings.Cut(m[1], "/")
		if ok && top[first] {
			add(m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(?:#[^)]*)?\)`).FindAllStringSubmatch(readme, -1) {
		add(m[1])
	}
	for _, f := range []string{"README.md", "DESIGN.md", "BENCHMARKS.md"} {
		if strings.Contains(readme, f) && !seen[f] {
			add(f)
		}
	}
	require.NotEmpty(t, paths, "README.md names no path: the pattern is wrong")
	return paths
}
