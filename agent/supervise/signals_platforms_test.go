//go:build linux

package supervise_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The forwarded signals are named on every Linux the agent is released for
// (the Makefile's RELEASE_PLATFORMS): signal numbers and names differ by
// architecture, and MIPS has no SIGSTKFLT.
func TestForwardedSignalsBuildOnEveryReleasePlatform(t *testing.T) {
	for _, p := range []struct{ arch, arm string }{{"amd64", ""}, {"arm64", ""}, {"arm", "7"}, {"mipsle", ""}} {
		cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+p.arch, "GOARM="+p.arm, "GOMIPS=softfloat")
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "linux/%s: %s", p.arch, out)
	}
}
