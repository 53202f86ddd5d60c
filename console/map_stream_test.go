package console

import (
	"bufio"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// openMapStream opens the event stream of the map page at query and reads
// its first, full update.
func openMapStream(t *testing.T, f *fleet, query string) (*bufio.Scanner, mapUpdate) {
	t.Helper()
	_, srv := f.console(t)
	hc := signedInClient(t, srv, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ui/events"+query, nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	u := readEvent(t, sc)
	require.True(t, u.Full)
	return sc, u
}

// A page whose own rows stay the same while the fleet grows past it is
// told to draw itself again when a page appears beyond it: its pager must
// link to it, or the new instances cannot be reached without a reload.
func TestEventsTellAPageOfANewPageBeyondIt(t *testing.T) {
	f := newFleet(t, mapPageSize) // exactly one page: no pager
	sc, u := openMapStream(t, f, "")
	require.Len(t, u.Rows, mapPageSize)

	// Past the page's last id: page 1 keeps its rows, a page 2 appears.
	_, err := f.reg.Register("zzz-00000", registry.Registration{Service: "weather", Address: "10.9.0.1", Port: 3000, AgentVersion: "test"})
	require.NoError(t, err)
	require.True(t, f.reg.Fail("news-00004", "killed")) // an event to come whatever the fix
	u = readEvent(t, sc)
	assert.True(t, u.Stale, "the page must be drawn again: it now has a page 2 to link to")
	assert.Equal(t, mapPageSize+1, u.Total)

}

// A change beyond the page that leaves its rows and its pages as they were
// still changes the counts it shows: the stream sends them.
func TestMapStreamSendsCountsChangedBeyondThePage(t *testing.T) {
	f := newFleet(t, mapPageSize+1) // two pages
	var s mapStream
	_, ok := s.next(buildMapView(f.reg, mapFilter{Page: 1}))
	require.True(t, ok, "the first update")
	_, err := f.reg.Register("zzz-00000", registry.Registration{Service: "weather", Address: "10.9.0.1", Port: 3000, AgentVersion: "test"})
	require.NoError(t, err)
	u, ok := s.next(buildMapView(f.reg, mapFilter{Page: 1}))
	require.True(t, ok, "the counts the page shows changed")
	assert.False(t, u.Stale, "its rows and pages did not")
	assert.Empty(t, u.Rows)
	assert.Equal(t, mapPageSize+2, u.Total)
	assert.Equal(t, mapPageSize+2, u.Counts[registry.StatusPassing])
	_, ok = s.next(buildMapView(f.reg, mapFilter{Page: 1}))
	assert.False(t, ok, "nothing new: nothing sent")
}

// A service on the page that gains an instance beyond the page keeps the
// page's rows and pages, but its heading counts its instances: the stream
// sends the totals of the page's services with the counts, or the heading
// says 50 under a fleet total that says 52.
func TestMapStreamSendsAServicesTotalChangedBeyondThePage(t *testing.T) {
	f := newFleet(t, mapPageSize+1) // news 51 then weather 50: weather's last row is page 2's
	var s mapStream
	u, ok := s.next(buildMapView(f.reg, mapFilter{Page: 1}))
	require.True(t, ok, "the first update")
	assert.Equal(t, map[string]int{"news": 51, "weather": 50}, u.Groups)
	_, err := f.reg.Register("zzz-00000", registry.Registration{Service: "weather", Address: "10.9.0.1", Port: 3000, AgentVersion: "test"})
	require.NoError(t, err)
	u, ok = s.next(buildMapView(f.reg, mapFilter{Page: 1}))
	require.True(t, ok)
	assert.False(t, u.Stale, "its rows and pages did not change")
	assert.Equal(t, map[string]int{"news": 51, "weather": 51}, u.Groups, "weather's heading on page 1")
}
