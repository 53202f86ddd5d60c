package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portolan/portolan/registry"
)

// The console with a fleet of 10,000 instances, beside the agent API's
// GET /v1/map for the same fleet in the same run: the first page of the
// map (its whole body: the page is drawn before the first byte goes),
// one live update of the event stream, and the JSON map.

const benchFleet = 10_000

// signedInRequest returns a GET of path carrying a live session of c.
func signedInRequest(c *Console, path string) *http.Request {
	id, _ := c.sessions.create(c.cfg.Now(), 0)
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	return req
}

func BenchmarkMapPage10k(b *testing.B)  { benchMapPage(b, benchFleet) }
func BenchmarkMapPage100k(b *testing.B) { benchMapPage(b, 10*benchFleet) }

func benchMapPage(b *testing.B, n int) {
	f := newFleet(b, n)
	c, _ := f.console(b)
	req := signedInRequest(c, Prefix)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", Prefix, w.Code)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// BenchmarkMapStream10k measures one update of a page's event stream: an
// instance of the page changes status, and the stream draws the page (once
// for every open stream of that page), compares it and frames the event.
func BenchmarkMapStream10k(b *testing.B)  { benchMapStream(b, benchFleet) }
func BenchmarkMapStream100k(b *testing.B) { benchMapStream(b, 10*benchFleet) }

func benchMapStream(b *testing.B, n int) {
	f := newFleet(b, n)
	c, _ := f.console(b)
	filter := parseMapFilter(nil)
	st := &mapStream{}
	st.next(c.views.view(c.cfg.Map, filter)) // the first, full event
	var bytes int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("news-%05d", 2*(i%50))
		if i%100 < 50 {
			f.reg.Fail(id, "benchmark")
		} else if _, err := f.reg.Heartbeat(id, registry.Heartbeat{Status: registry.StatusPassing}); err != nil {
			b.Fatal(err)
		}
		i++
		u, ok := st.next(c.views.view(c.cfg.Map, filter))
		if !ok || len(u.Rows) != 1 {
			b.Fatalf("update %d: %d rows, want the one that changed", i, len(u.Rows))
		}
		bytes += len(encodeEvent("map", u))
	}
	b.ReportMetric(float64(bytes)/float64(i), "bytes/update")
}

func BenchmarkV1Map10k(b *testing.B) {
	f := newFleet(b, benchFleet)
	h := f.reg.Handler(registry.Access{Admin: func(*http.Request) bool { return true }})
	req := httptest.NewRequest(http.MethodGet, registry.PathMap, nil)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", registry.PathMap, w.Code, w.Body.String())
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/response")
}
