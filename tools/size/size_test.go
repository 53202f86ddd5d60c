package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestPackageOfNamesTheSymbolsPackage(t *testing.T) {
	for sym, want := range map[string]string{
		"net/http.(*Transport).RoundTrip":                            "net/http",
		"github.com/pb33f/libopenapi/index.(*SpecIndex).GetPaths":    "github.com/pb33f/libopenapi/index",
		"type:*github.com/portolan/portolan/composition.Service":     "github.com/portolan/portolan/composition",
		"go:itab.*net/http.http2transportResponseBody,io.ReadCloser": "net/http",
		"slices.SortFunc[go.shape.struct { Name string }]":           "slices",
		"github.com/miekg/dns..stmp_12":                              "github.com/miekg/dns",
		"go:func.*":                                                  "(linker)",
		"runtime.mallocgc":                                           "runtime",
		"main.main":                                                  "main",
	} {
		assert.Equal(t, want, packageOf(sym), "package of %s", sym)
	}
}

// maxInitBytes bounds what the init of one of Portolan's own packages may
// allocate: every portolan process, every agent, pays it at start and most
// keep it. Tables and compiled patterns go behind sync.OnceValue instead.
const maxInitBytes = 32 << 10

func TestPortolanPackagesInitAllocateLittle(t *testing.T) {
	bin := testenv.Binary(t)
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "%s --version: %s", bin, stderr.String())
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || !strings.HasPrefix(f[1], "github.com/portolan/portolan") {
			continue
		}
		seen++
		b, err := strconv.Atoi(f[7])
		require.NoError(t, err, "inittrace line %q", sc.Text())
		assert.LessOrEqual(t, b, maxInitBytes, "init of %s allocates %d bytes", f[1], b)
	}
	require.NotZero(t, seen, "no init trace of Portolan's packages in: %s", stderr.String())
}
