package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The body of an Upgrade: h2c request is read before the switch; one that
// cannot be read (a malformed chunk) is the client's error, answered 400
// as the lean loop answers it, never an empty 200 the app did not send.
func TestH2CUpgradeWithMalformedBodyIs400(t *testing.T) {
	up, got := echoUpstream(t, "app")
	gw := startH2CGateway(t, up.URL, Config{})
	c, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(c, "POST /articles?user_key=premium-key HTTP/1.1\r\nHost: gateway\r\n"+
		"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"+
		"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	assert.Empty(t, got, "nothing reaches the app")
}
