package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// An Upgrade: h2c request's body is read before the switch (RFC 7540
// §3.2: the request is answered on the new connection), but only a small
// one: a larger body is never held in memory for a client nobody has
// checked yet. The request is served in HTTP/1.1 without the switch, as
// any server may (RFC 9110 §7.8) and as Apache's mod_http2 serves every
// upgrade with a body, so the client's credentials are checked before its
// body is read, as without the Upgrade header. Here the client announces a
// large body (or sends more than the bound of a chunked one) and never
// finishes it: it is refused at once.
func TestH2CUpgradeWithALargeBodyIsCheckedBeforeTheBodyIsRead(t *testing.T) {
	up, got := echoUpstream(t, "app")
	gw := startH2CGateway(t, up.URL, Config{})
	const upgrade = "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
	chunk := strings.Repeat("x", 100<<10)
	for name, head := range map[string]string{
		"announced":   "Content-Length: 5000000\r\n\r\n",
		"chunked":     "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk),
		"no upgrade,": "", // the same request without the Upgrade: the baseline
	} {
		c, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
		require.NoError(t, err)
		require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
		req := "POST /articles HTTP/1.1\r\nHost: gateway\r\n" + upgrade + head
		if head == "" {
			req = "POST /articles HTTP/1.1\r\nHost: gateway\r\nContent-Length: 5000000\r\n\r\n"
		}
		_, err = io.WriteString(c, req)
		require.NoError(t, err, name)
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if !assert.NoError(t, err, "%s: no answer before the body ends (%v)", name, time.Since(start)) {
			c.Close()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", name, body)
		assert.Equal(t, "Authentication parameters missing\n", string(body), name)
		c.Close()
	}
	assert.Empty(t, got, "nothing reaches the app")
}

// A client that asks for the switch with a body (curl --http2 -d) still
// gets its answer, and the app the whole body: in HTTP/2 for a small body,
// in HTTP/1.1 for a larger one, streamed to the app as any other.
func TestH2CUpgradeWithABodyReachesTheApp(t *testing.T) {
	bodies := make(chan string, 4)
	up := echoBodyUpstream(t, bodies)
	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	_, gw, _ := startTestGateway(t, f, up, f.placement(f.premium), Config{TLS: TLS{H2C: true}})
	dir := t.TempDir()
	for _, tc := range []struct {
		size  int
		proto string
	}{{10, "2"}, {60 << 10, "2"}, {200 << 10, "1.1"}} {
		body := strings.Repeat("b", tc.size)
		file := filepath.Join(dir, "body")
		require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
		assert.Equal(t, "ok\n"+tc.proto+" 200", runCurl(t, "--http2", "--data-binary", "@"+file, gw+"/articles?user_key=premium-key"), "a body of %d bytes", tc.size)
		select {
		case b := <-bodies:
			assert.Equal(t, len(body), len(b), "a body of %d bytes reaches the app whole", tc.size)
		case <-time.After(5 * time.Second):
			t.Fatalf("a body of %d bytes never reached the app", tc.size)
		}
	}
	// Chunked (curl sends a body from stdin so), over the bound.
	curl := exec.Command("curl", "-sS", "--max-time", "10", "-w", "\n%{http_version} %{http_code}",
		"--http2", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", gw+"/articles?user_key=premium-key")
	curl.Stdin = strings.NewReader(strings.Repeat("c", 200<<10))
	out, err := curl.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "ok\n1.1 200", string(out), "a chunked body over the bound")
	assert.Len(t, <-bodies, 200<<10)
}
