package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// mapPageAllocs returns the bytes one GET of the map's first page
// allocates in a home of n services, each with a placement.
func mapPageAllocs(t *testing.T, n int) uint64 {
	t.Helper()
	st := memStore{composition.NewHead(composition.New(),
		func(context.Context, []composition.Change, *composition.Composition) error { return nil }, nil)}
	t.Cleanup(func() { _ = st.Close() })
	_, err := st.Update(context.Background(), func(tx *composition.Tx) error {
		for i := range n {
			s := &composition.Service{Name: fmt.Sprintf("S%05d", i), SystemName: fmt.Sprintf("svc%05d", i)}
			if err := tx.Create(s); err != nil {
				return err
			}
			if err := tx.Create(&composition.Placement{Name: fmt.Sprintf("p%05d", i),
				Selector: composition.Selector{Service: s.SystemName}, ServiceID: s.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	reg, err := registry.New(registry.Config{Store: st, Logger: zerolog.Nop()})
	require.NoError(t, err)
	c, err := New(Config{Snapshot: st.Snapshot, Map: reg, Tokens: threescale.NewTokenChecker("console-test-token"),
		Version: "test", Logger: zerolog.Nop()})
	require.NoError(t, err)
	req := signedInRequest(c, Prefix)
	serve := func() {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.Code)
	}
	serve() // warm: templates, caches
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	serve()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The map page of a home whose services each have a placement: drawing it
// allocates in proportion to services × placements (the registry's
// drawMap asks Placements.Filter, a scan and a slice the size of every
// placement, once per service), so twice the services cost four times the
// bytes. Oracle: the brief's bound, that what the console fetches is not
// O(n²) to build on home; linear work doubles with n.
func TestMapPageOfServicesWithPlacementsIsNotQuadratic(t *testing.T) {
	small, large := mapPageAllocs(t, 2000), mapPageAllocs(t, 4000)
	t.Logf("GET /ui/: %d bytes allocated with 2,000 services, %d with 4,000 (×%.2f)", small, large, float64(large)/float64(small))
	assert.Less(t, float64(large)/float64(small), 2.8, "twice the services cost about twice the allocation")
}
