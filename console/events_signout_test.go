package console

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogoutEndsTheSessionsLiveMapAtOnce: a signed-out browser's open live
// map (another tab) is told so and closed when the session ends, not at the
// stream's next heartbeat a quarter minute later.
func TestLogoutEndsTheSessionsLiveMapAtOnce(t *testing.T) {
	_, srv := newFleet(t, 2).console(t)
	hc := signedInClient(t, srv, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ui/events", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	readEvent(t, sc)

	page := getPage(t, hc, srv.URL+"/ui/")
	csrf := strings.Split(strings.Split(page, `name="csrf" value="`)[1], `"`)[0]
	out, err := http.NewRequest(http.MethodPost, srv.URL+"/ui/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	require.NoError(t, err)
	out.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	out.Header.Set("Sec-Fetch-Site", "same-origin")
	started := time.Now()
	outResp, err := hc.Do(out)
	require.NoError(t, err)
	readBody(t, outResp)
	require.Equal(t, http.StatusSeeOther, outResp.StatusCode)

	var events []string
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "event: ") {
			events = append(events, strings.TrimPrefix(line, "event: "))
		}
	}
	assert.Equal(t, []string{"signedout"}, events, "the stream says why it ends, then ends")
	assert.Less(t, time.Since(started), heartbeatEvery/3, "at once, not at the next heartbeat")
}
