package registry_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// A watcher that held the map at index N before home restarted must not be
// told, by the new home, that only the instances registered since N changed:
// the instance that died while home was down would stay on its map, passing,
// for ever.
//
// Oracle: README, "The service map": `--watch` "once current it asks for
// deltas (`&delta=1`: only the instances changed or removed since N, or the
// whole map when home's change log no longer reaches back to N)"; and
// Consul's blocking queries, which `--watch` follows, whose index never
// names two different states of the data (Consul docs, "Blocking Queries":
// "the X-Consul-Index ... an opaque value that can be used to wait for
// changes").
func TestMapDeltaAcrossAHomeRestartNeverKeepsAnInstanceTheNewHomeDoesNotHold(t *testing.T) {
	co := testenv.StartCoordinator(t)
	register(t, co, "news-dead", registration("news"))
	register(t, co, "news-live", registration("news"))
	held, _ := getMap(t, co, "")
	_, ok := findInstance(held, "news-dead")
	require.True(t, ok, "the watcher holds both instances before the restart")
	n := held.Index

	// Home restarts; news-dead died meanwhile and never phones home again,
	// news-live and others register (as agents do after a restart) until
	// the new home's index has passed the watcher's.
	co.Stop()
	co.Start()
	for i := 0; ; i++ {
		register(t, co, fmt.Sprintf("news-new-%d", i), registration("news"))
		if m, _ := getMap(t, co, ""); m.Index > n {
			break
		}
		require.Less(t, i, 1000, "the index never passed %d", n)
	}
	register(t, co, "news-live", registration("news"))

	a := agentCall(t, co.URL, "GET", fmt.Sprintf("/v1/map?index=%d&delta=1&wait=2s", n), co.Token, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	var d registry.MapDelta
	a.json(t, &d)
	held.Apply(d)
	_, kept := findInstance(held, "news-dead")
	assert.False(t, kept, "after applying the new home's answer to a delta since %d (its index %s, full map: %t), "+
		"the watcher still shows news-dead, which the new home does not hold", n, a.header.Get(registry.IndexHeader), d.Full != nil)
	now, _ := getMap(t, co, "")
	for _, s := range now.Services {
		for _, in := range s.Instances {
			_, ok := findInstance(held, in.ID)
			assert.True(t, ok, "the watcher's map lacks %s, which the new home holds", in.ID)
		}
	}
}

// A blocking query with an index of the previous incarnation of home must
// not wait when the new home's map is another: were the new index to reach
// exactly the watcher's, the watcher (an agent's gateway routing, `portolan
// map --watch`) would keep the old map for the whole wait.
//
// Oracle: README, "The service map" (a Consul-style blocking query,
// `GET /v1/map?index=N&wait=5m`), and Consul's rule that a blocking query
// waits only while the data is still what index N named.
func TestBlockingMapWithAnIndexFromBeforeAHomeRestartAnswersAtOnce(t *testing.T) {
	co := testenv.StartCoordinator(t)
	register(t, co, "news-dead", registration("news"))
	register(t, co, "news-other", registration("news"))
	before, _ := getMap(t, co, "")
	n := before.Index

	co.Stop()
	co.Start()
	for i := 0; ; i++ {
		m, _ := getMap(t, co, "")
		if m.Index >= n {
			break
		}
		register(t, co, fmt.Sprintf("news-new-%d", i), registration("news"))
	}
	start := time.Now()
	m, a := getMap(t, co, "?index="+strconv.FormatUint(n, 10)+"&wait=3s")
	waited := time.Since(start)
	_, stale := findInstance(m, "news-dead")
	require.False(t, stale, "the new home does not hold news-dead")
	assert.Less(t, waited, time.Second,
		"a blocking query with index %d, taken from the home before its restart, waited %s for a change although the map "+
			"(now index %s) is not the one %d named", n, waited.Round(time.Millisecond), a.header.Get(registry.IndexHeader), n)
}
