package gateway

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The portolan binary sends spans with its own OTLP/HTTP exporter so that it
// does not link gRPC (about 3 MB, see make size): nothing it links may bring
// gRPC back.
func TestPortolanLinksNoGRPC(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/portolan/portolan/cmd/portolan").CombinedOutput()
	require.NoError(t, err, "go list -deps: %s", out)
	var grpc []string
	for p := range strings.Lines(string(out)) {
		if strings.HasPrefix(p, "google.golang.org/grpc") || strings.HasPrefix(p, "google.golang.org/genproto") {
			grpc = append(grpc, strings.TrimSpace(p))
		}
	}
	require.Empty(t, grpc, "cmd/portolan links gRPC again; see who imports it with go mod why -m google.golang.org/grpc")
}
