//go:build linux

package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/portolan/portolan/internal/testenv"
)

// A flood of idle connections to the gateway of an agent whose descriptor
// limit is low (Docker's default soft RLIMIT_NOFILE is 1024, some Raspberry
// Pi images too; here 256:256, so Go cannot raise it) must not take the
// descriptors the agent needs for itself: its local API's health probe and
// its upstream connections here (before the bound, its log showed its
// heartbeat and usage spool failing with EMFILE too). The gateway's connection bound
// (--gateway-max-connections, 16384 by default) has to stay below the
// descriptor limit. Oracle: Envoy's FAQ "How does Envoy prevent file
// descriptor exhaustion?" (docs/root/faq/configuration/resource_limits.rst):
// "keep the sum of all connection limits less than half of the system's
// file descriptor limit"; nginx warns at start of "32768 worker_connections
// exceed open file resource limit: 1024", and a proxy needs "1 FD for the
// client connection and 1 FD for the upstream connection" (gixy's
// worker_rlimit_nofile_vs_connections check). Go's net/http backs off on
// EMFILE ("http: Accept error: ... retrying in 5ms") but bounds nothing.
func TestGatewayFloodBeyondDescriptorLimitLeavesHealthAndForwarding(t *testing.T) {
	co := testenv.StartCoordinator(t)
	s := newHomeService(t, co, "fdflood", "")
	app := s.app(t)

	// The app closes each connection, so every request needs a new
	// upstream descriptor.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "app")
	}))
	t.Cleanup(up.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(up.URL, "http://"))
	gwAddr := testenv.FreeAddr(t)
	// A host whose limit is low: 256 descriptors, soft and hard, from the
	// start (so Go cannot raise it), as `ulimit -n 256` in an image's
	// entrypoint sets it.
	const limit = 256
	wrapper := filepath.Join(t.TempDir(), "agent-ulimit")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nulimit -n "+strconv.Itoa(limit)+"\nexec "+testenv.AgentBinary(t)+` "$@"`+"\n"), 0o700))
	a := testenv.StartAgentOf(t, wrapper, co.URL, "--service", s.selector, "--address", host, "--port", port,
		"--gateway-listen", gwAddr, "--upstream", up.URL, "--", "sleep", "300")
	gw := "http://" + gwAddr
	require.Eventually(t, func() bool { return gwStatus(gw+"/articles?user_key="+app.UserKey) == http.StatusOK },
		20*time.Second, 50*time.Millisecond, "the gateway serves the service")

	var lim unix.Rlimit
	require.NoError(t, unix.Prlimit(a.PID(), unix.RLIMIT_NOFILE, nil, &lim))
	require.Equal(t, uint64(limit), lim.Cur, "the agent runs with the low limit")

	health := func() int {
		c := http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + a.API + "/v1/agent/health")
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, health(), "healthy before the flood")

	// A client that came before the flood keeps its connection.
	kept, err := net.Dial("tcp", gwAddr)
	require.NoError(t, err)
	t.Cleanup(func() { kept.Close() })
	keptBr := bufio.NewReader(kept)
	get := func() (int, error) {
		_ = kept.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(kept, "GET /articles?user_key="+app.UserKey+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(keptBr, nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Body.Close()
	}
	code, err := get()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "served before the flood")

	// The flood: twice the limit of idle connections, each sending half a
	// request head as a slow client does.
	var flood []net.Conn
	t.Cleanup(func() {
		for _, c := range flood {
			c.Close()
		}
	})
	for range 2 * limit {
		c, err := net.Dial("tcp", gwAddr)
		require.NoError(t, err)
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\n"))
		flood = append(flood, c)
	}
	// The agent has taken what it can: its descriptors stop growing.
	fds := func() int {
		ents, err := os.ReadDir("/proc/" + strconv.Itoa(a.PID()) + "/fd")
		if err != nil {
			return -1
		}
		return len(ents)
	}
	prev := -1
	require.Eventually(t, func() bool {
		n := fds()
		settled := n == prev
		prev = n
		return settled
	}, 20*time.Second, 300*time.Millisecond, "the agent's descriptors settle")

	require.Equal(t, http.StatusOK, health(), "the local API's health probe answers while the gateway is flooded")
	code, err = get()
	require.NoError(t, err, "a client from before the flood is still served")
	require.Equal(t, http.StatusOK, code, "forwarded upstream while the gateway is flooded")
}
