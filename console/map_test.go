package console

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

func getPage(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	resp, err := hc.Get(url)
	require.NoError(t, err)
	body := readBody(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	return body
}

func TestMapPagesFiltersAndCountsAFleet(t *testing.T) {
	f := newFleet(t, 250)
	_, srv := f.console(t)
	hc := signedInClient(t, srv, testToken)
	require.True(t, f.reg.Fail("news-00002", "killed"))

	body := getPage(t, hc, srv.URL+"/ui/")
	assert.Equal(t, mapPageSize, strings.Count(body, "<tr data-id="), "one page of rows")
	assert.Contains(t, body, "250 instances")
	assert.Contains(t, body, `passing: <span class="n">249</span>`)
	assert.Contains(t, body, `critical: <span class="n">1</span>`)
	assert.Contains(t, body, `Page 1 of 3`)
	assert.Contains(t, body, `<label for="f-label">`)

	body = getPage(t, hc, srv.URL+"/ui/?page=3")
	assert.Equal(t, 50, strings.Count(body, "<tr data-id="))
	// Pages go by instance id: news' 125, then weather's; page 3 starts
	// with the 76th weather instance.
	assert.True(t, strings.Contains(body, `<tr data-id="weather-00151">`), "page 3 starts at weather-00151")
	assert.False(t, strings.Contains(body, `<tr data-id="weather-00149">`), "weather-00149 ends page 2")
	body = getPage(t, hc, srv.URL+"/ui/?page=9")
	assert.Contains(t, body, `Page 3 of 3`, "a page past the last shows the last")
	assert.Equal(t, 50, strings.Count(body, "<tr data-id="))
	body = getPage(t, hc, srv.URL+"/ui/?page=9223372036854775807")
	assert.Contains(t, body, `Page 3 of 3`, "a page number too large for an offset shows the last")

	body = getPage(t, hc, srv.URL+"/ui/map?status=critical")
	assert.Equal(t, 1, strings.Count(body, "<tr data-id="))
	assert.Contains(t, body, `<tr data-id="news-00002">`)
	assert.Contains(t, body, `class="status status-critical" data-status>critical`)

	body = getPage(t, hc, srv.URL+"/ui/map?service=weather&label=zone%3Dz1")
	// weather is every odd instance, zone z1 every third: i%6 == 1 → 42 of 250.
	assert.Equal(t, 42, strings.Count(body, "<tr data-id="))
	assert.NotContains(t, body, `<tr data-id="news-`)

	body = getPage(t, hc, srv.URL+"/ui/map?label=zone")
	assert.Contains(t, body, "250 instances", "a key alone keeps the instances carrying the label")
	body = getPage(t, hc, srv.URL+"/ui/map?label=rack")
	assert.Contains(t, body, "0 instances")
	assert.Contains(t, body, "No instance matches.")

	body = getPage(t, hc, srv.URL+"/ui/map?plan=news-pro")
	assert.Contains(t, body, "125 instances", "news instances serve both news plans by default")

	body = getPage(t, hc, srv.URL+"/ui/instances/news-00002")
	for _, want := range []string{"critical", "killed", "10.0.0.3:3000", "zone=z2", "news-basic", "test", "1h0m0s"} {
		assert.Contains(t, body, want)
	}
	resp, err := hc.Get(srv.URL + "/ui/instances/none")
	require.NoError(t, err)
	assert.Contains(t, readBody(t, resp), "no instance")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// readEvent reads the next "map" event of a stream.
func readEvent(t *testing.T, sc *bufio.Scanner) mapUpdate {
	t.Helper()
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && name == "map":
			var u mapUpdate
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &u))
			return u
		}
	}
	t.Fatalf("the stream ended: %v", sc.Err())
	return mapUpdate{}
}

func TestEventsSendTheStatusChangesOfThePage(t *testing.T) {
	f := newFleet(t, 150)
	_, srv := f.console(t)
	hc := signedInClient(t, srv, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ui/events?service=news", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)

	u := readEvent(t, sc)
	assert.True(t, u.Full)
	assert.Len(t, u.Rows, 75, "every row of the page first")
	assert.Equal(t, 75, u.Counts[registry.StatusPassing])

	require.True(t, f.reg.Fail("news-00004", "killed"))
	u = readEvent(t, sc)
	assert.False(t, u.Full)
	assert.False(t, u.Stale)
	require.Len(t, u.Rows, 1, "only what changed")
	assert.Equal(t, "news-00004", u.Rows[0].ID)
	assert.Equal(t, registry.StatusCritical, u.Rows[0].Status)
	assert.Equal(t, 1, u.Counts[registry.StatusCritical])

	require.NoError(t, f.reg.Deregister("news-00006"))
	u = readEvent(t, sc)
	assert.True(t, u.Stale, "an instance left the page")
	assert.Equal(t, 74, u.Total)
}

func TestEventsRefuseStreamsPastTheBound(t *testing.T) {
	c, srv := newFleet(t, 1).console(t)
	hc := signedInClient(t, srv, testToken)
	for range maxStreams {
		c.streams <- struct{}{}
	}
	resp, err := hc.Get(srv.URL + "/ui/events")
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
}

// One session (a browser with many tabs, or a token's holder) holds at most
// maxSessionStreams streams, so another operator's live map still gets one;
// a stream that ends gives its place back.
func TestOneSessionCannotTakeEveryEventStream(t *testing.T) {
	_, srv := newFleet(t, 2).console(t)
	greedy := signedInClient(t, srv, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(hc *http.Client) *http.Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ui/events", nil)
		require.NoError(t, err)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode == http.StatusOK {
			readEvent(t, bufio.NewScanner(resp.Body))
		}
		return resp
	}
	var held []*http.Response
	for range maxSessionStreams {
		resp := open(greedy)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		held = append(held, resp)
	}
	refused := open(greedy)
	assert.Equal(t, http.StatusServiceUnavailable, refused.StatusCode)
	assert.NotEmpty(t, refused.Header.Get("Retry-After"))

	assert.Equal(t, http.StatusOK, open(signedInClient(t, srv, testToken)).StatusCode, "another operator's live map")

	held[0].Body.Close()
	require.Eventually(t, func() bool {
		resp := open(greedy)
		if resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			return true
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "a closed stream gives its place back")
}
