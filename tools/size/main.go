// Command size is the dependency-size report of `make size`: it weighs a Go
// binary built with its symbols (not stripped) by module and by package, from
// the size of every symbol of its ELF symbol table, by section: code (.text)
// and data (.rodata, .data, .noptrdata; .bss takes no room in the file). The
// function tables a stripped binary keeps (.gopclntab) grow with the code, so
// a module's share of the file is estimated as its code scaled by
// (.text + .gopclntab) / .text, plus its data: what cutting it would save,
// give or take the code it shares with others.
//
// It is a development tool: the program imports nothing of Portolan (its
// test starts the portolan binary through internal/testenv).
package main

import (
	"cmp"
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

func main() {
	top := flag.Int("top", 25, "how many modules and packages to list")
	pkg := flag.String("pkg", "./cmd/portolan", "the main package the binary was built from (its dependencies name the modules)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: size [-top N] [-pkg PATTERN] BINARY\n\nBINARY must keep its symbols (built without -ldflags -s).\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdout, flag.Arg(0), *pkg, *top); err != nil {
		fmt.Fprintln(os.Stderr, "size:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, binary, mainPkg string, top int) error {
	modules, err := modulesOf(ctx, mainPkg)
	if err != nil {
		return err
	}
	f, err := elf.Open(binary)
	if err != nil {
		return fmt.Errorf("open %s: %w (size reads ELF binaries)", binary, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("symbols of %s: %w (build it without -ldflags -s)", binary, err)
	}
	r := weigh(f, syms, modules)
	r.print(w, top)
	return nil
}

// modulesOf maps every package the main package links to its module's path
// ("std" for the standard library).
func modulesOf(ctx context.Context, mainPkg string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}}\t{{with .Module}}{{.Path}}{{end}}", mainPkg).Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w", mainPkg, err)
	}
	m := map[string]string{}
	for line := range strings.Lines(string(out)) {
		path, mod, _ := strings.Cut(strings.TrimSpace(line), "\t")
		if mod == "" {
			mod = "std"
		}
		m[path] = mod
	}
	return m, nil
}

// packageOf names the package a symbol belongs to: the import path before
// the first dot after its last slash, once the linker's prefixes (type:,
// the itab prefix) and a generic instantiation's arguments are taken off.
// Symbols of the linker itself (its func data, runtime tables) are
// "(linker)".
func packageOf(name string) string {
	for _, p := range []string{"type:.eq.", "type:.namedata.", "type:*", "type:", "go:itab.*", "go:itab.", "go:string.", "go:"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			if p == "go:" || p == "go:string." {
				return "(linker)"
			}
			name = rest
			break
		}
	}
	if i := strings.IndexAny(name, "[,"); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, "*[]()")
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		if slash < 0 {
			return "(linker)"
		}
		return name
	}
	return name[:slash+1+dot]
}

type weight struct {
	name       string
	code, data int64
}

type report struct {
	modules, packages []weight
	code, data        int64
	scale             float64 // (.text + .gopclntab) / .text
	file              int64   // bytes of the sections a stripped binary keeps
}

// estimate is a weight's share of a stripped binary: its code with the
// function tables that come with it, and its data.
func (r report) estimate(w weight) float64 { return float64(w.code)*r.scale + float64(w.data) }

func weigh(f *elf.File, syms []elf.Symbol, modules map[string]string) report {
	var r report
	var text, pcln int64
	kind := map[elf.SectionIndex]byte{}
	for i, s := range f.Sections {
		switch s.Name {
		case ".text":
			kind[elf.SectionIndex(i)], text = 'T', int64(s.Size)
		case ".gopclntab":
			pcln = int64(s.Size)
		case ".rodata", ".data", ".noptrdata", ".typelink", ".itablink":
			kind[elf.SectionIndex(i)] = 'D'
		}
		if s.Flags&elf.SHF_ALLOC != 0 && s.Type != elf.SHT_NOBITS {
			r.file += int64(s.Size)
		}
	}
	if text > 0 {
		r.scale = float64(text+pcln) / float64(text)
	}
	mods, pkgs := map[string]*weight{}, map[string]*weight{}
	add := func(m map[string]*weight, key string, k byte, size int64) {
		w := m[key]
		if w == nil {
			w = &weight{name: key}
			m[key] = w
		}
		if k == 'T' {
			w.code += size
		} else {
			w.data += size
		}
	}
	for _, s := range syms {
		k, ok := kind[s.Section]
		if !ok || s.Size == 0 {
			continue
		}
		if k == 'T' {
			r.code += int64(s.Size)
		} else {
			r.data += int64(s.Size)
		}
		p := strings.TrimPrefix(packageOf(s.Name), "vendor/") // the standard library's vendored x/ packages
		mod, ok := modules[p]
		switch {
		case ok:
		case p == "(linker)":
			mod = p
		default:
			mod = "std" // runtime-internal packages go list does not print
		}
		add(pkgs, p, k, int64(s.Size))
		add(mods, mod, k, int64(s.Size))
	}
	sorted := func(m map[string]*weight) []weight {
		out := make([]weight, 0, len(m))
		for _, w := range m {
			out = append(out, *w)
		}
		slices.SortFunc(out, func(a, b weight) int {
			return cmp.Or(cmp.Compare(r.estimate(b), r.estimate(a)), strings.Compare(a.name, b.name))
		})
		return out
	}
	r.modules, r.packages = sorted(mods), sorted(pkgs)
	return r
}

func (r report) print(w io.Writer, top int) {
	mb := func(n float64) string { return fmt.Sprintf("%7.2f", n/1e6) }
	fmt.Fprintf(w, "stripped file %s MB: symbols of code %s MB and data %s MB; a module's code counts %.2f times (with its function tables)\n",
		mb(float64(r.file)), mb(float64(r.code)), mb(float64(r.data)), r.scale)
	table := func(title string, ws []weight) {
		fmt.Fprintf(w, "\n%-64s %7s %7s %7s %6s\n", title, "est.MB", "code", "data", "share")
		row := func(name string, x weight) {
			fmt.Fprintf(w, "%-64s %s %s %s %5.1f%%\n", name, mb(r.estimate(x)), mb(float64(x.code)), mb(float64(x.data)),
				100*r.estimate(x)/float64(r.file))
		}
		for i, x := range ws {
			if i == top {
				var rest weight
				for _, y := range ws[top:] {
					rest.code, rest.data = rest.code+y.code, rest.data+y.data
				}
				row(fmt.Sprintf("(%d more)", len(ws)-top), rest)
				break
			}
			row(x.name, x)
		}
	}
	table(fmt.Sprintf("modules (%d)", len(r.modules)), r.modules)
	table(fmt.Sprintf("packages (%d)", len(r.packages)), r.packages)
}
