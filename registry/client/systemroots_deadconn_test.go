package client_test

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// TestSystemRootsClientLeavesADeadConnection: a client of an https:// home
// whose certificate the system's roots trust (TLS left zero: "trusts the
// system's roots, as any HTTPS client does") shares one HTTP/2 connection
// as one with --ca-file does, and needs the same health check: "a
// connection silent for H2PingAfter is pinged and closed when no answer
// comes", else every heartbeat goes to the dead connection and times out
// for as long as TCP keeps it.
//
// The system's roots are read once per process, so the test runs itself
// again with SSL_CERT_FILE naming the test server's certificate.
func TestSystemRootsClientLeavesADeadConnection(t *testing.T) {
	if os.Getenv("PORTOLAN_TEST_SYSTEM_ROOTS_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSystemRootsClientLeavesADeadConnection$", "-test.v")
		cmd.Env = append(os.Environ(), "PORTOLAN_TEST_SYSTEM_ROOTS_CHILD=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(registry.IndexHeader, "1")
		io.WriteString(w, `{"services":[]}`)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := filepath.Join(t.TempDir(), "roots.pem")
	require.NoError(t, os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	t.Setenv("SSL_CERT_FILE", roots)
	t.Setenv("SSL_CERT_DIR", t.TempDir())
	hole := newBlackhole(t, srv.Listener.Addr().String())

	c, err := client.New(client.Config{Address: "https://" + hole.ln.Addr().String(), Timeout: 500 * time.Millisecond})
	require.NoError(t, err)
	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, _, err := c.Map(ctx, 0, 0, "")
		return err
	}
	require.NoError(t, get())

	hole.cut()
	deadline := time.Now().Add(client.H2PingAfter + client.H2PingTimeout + 3*time.Second)
	for {
		if err = get(); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "calls still fail %s after the connection died: %v",
			client.H2PingAfter+client.H2PingTimeout+3*time.Second, err)
	}
}
