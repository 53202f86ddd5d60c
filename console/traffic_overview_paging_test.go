package console

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
	"github.com/portolan/portolan/usage"
)

// A large provider's home: 1,000 services of 10 applications each (the
// size agent/idle_rss_large_composition_bench_test.go builds through the
// Admin API), over real bbolt composition and usage stores.
const (
	largeServices = 1000
	largeAppsPer  = 10
)

type largeHome struct {
	fixture
	services []*composition.Service // by index: the name is "svc-%04d" of it
	apps     [][]*composition.Application
}

// newLargeHome composes the large home; name(i) names service i (an XSS
// probe can stand in for one).
func newLargeHome(t *testing.T, name func(i int) string) *largeHome {
	t.Helper()
	h := &largeHome{fixture: fixture{now: time.Now().UTC()}}
	var err error
	h.store, err = boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.store.Close() })
	_, err = h.store.Update(context.Background(), func(tx *composition.Tx) error {
		accounts := make([]*composition.Account, largeAppsPer)
		for j := range accounts {
			accounts[j] = &composition.Account{OrgName: fmt.Sprintf("Org%d", j)}
			if err := tx.Create(accounts[j]); err != nil {
				return err
			}
		}
		for i := range largeServices {
			s := &composition.Service{Name: name(i), SystemName: fmt.Sprintf("svc%04d", i), BackendVersion: "1"}
			if err := tx.Create(s); err != nil {
				return err
			}
			plan := &composition.ApplicationPlan{ServiceID: s.ID, Name: "Basic", SystemName: "basic"}
			if err := tx.Create(plan); err != nil {
				return err
			}
			var apps []*composition.Application
			for j := range largeAppsPer {
				a := &composition.Application{AccountID: accounts[j].ID, PlanID: plan.ID,
					Name: fmt.Sprintf("A%d-%d", i, j), UserKey: fmt.Sprintf("uk-%04d-%d", i, j)}
				if err := tx.Create(a); err != nil {
					return err
				}
				apps = append(apps, a)
			}
			h.services, h.apps = append(h.services, s), append(h.apps, apps)
		}
		return nil
	})
	require.NoError(t, err)
	h.usage, err = usage.Open(t.TempDir(), h.now, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.usage.Close() })
	reg, err := registry.New(registry.Config{Store: h.store, Logger: zerolog.Nop()})
	require.NoError(t, err)
	h.console, err = New(Config{Snapshot: h.store.Snapshot, Map: reg, Usage: h.usage,
		Tokens: threescale.NewTokenChecker("console-test-token"), Version: "test", Logger: zerolog.Nop(),
		Now: func() time.Time { return h.now }})
	require.NoError(t, err)
	return h
}

// hit adds n hits to application j of service i, a minute ago.
func (h *largeHome) hit(t *testing.T, i, j int, n int64) {
	t.Helper()
	hits, ok := h.store.Snapshot().Hits(composition.OwnerService, h.services[i].ID)
	require.True(t, ok)
	h.addHits(t, h.services[i].ID, h.apps[i][j].ID, hits.ID, time.Minute, n)
}

var serviceTrafficLink = regexp.MustCompile(`<a class="service-traffic-link" href="[^"]+">([^<]+)</a>`)

// The traffic overview listed every service in one page: with 1,000
// services its table had 1,000 rows (153 KB), where /ui/services shows them
// 100 at a time (paging.go: "Long lists ... are shown a page at a time"),
// and it grew without bound with the provider. Oracle: 3scale's own admin
// portal pages such lists: porta's
// app/presenters/provider/admin/backend_apis_index_presenter.rb builds its
// list with ".paginate(pagination_params)" ("per_page: params[:per_page] ||
// 20"). The overview pages its services as /ui/services does, while its
// top applications still rank every service's.
func TestTrafficOverviewOfAThousandServicesIsPaged(t *testing.T) {
	h := newLargeHome(t, func(i int) string { return fmt.Sprintf("svc-%04d", i) })
	h.hit(t, 907, 3, 50) // the busiest application is on a late page's service
	h.hit(t, 1, 0, 5)

	code, body := h.get(t, Prefix+"traffic")
	require.Equal(t, http.StatusOK, code)
	rows := serviceTrafficLink.FindAllStringSubmatch(body, -1)
	t.Logf("GET /ui/traffic: %d bytes, %d service rows", len(body), len(rows))
	require.Equal(t, servicesPageSize, len(rows), "one page of services, not all %d", largeServices)
	assert.Equal(t, "svc-0000", rows[0][1])
	hasText(t, body, `<a rel="next" href="/ui/traffic?page=2">Next</a>`)
	hasText(t, body, ">A907-3</a>", "the top applications rank every service's, not the page's")
	hasText(t, body, "Services 1–100 of 1000")

	code, body = h.get(t, Prefix+"traffic?page=10")
	require.Equal(t, http.StatusOK, code)
	rows = serviceTrafficLink.FindAllStringSubmatch(body, -1)
	require.Equal(t, servicesPageSize, len(rows))
	assert.Equal(t, "svc-0900", rows[0][1])
	assert.Equal(t, "svc-0999", rows[len(rows)-1][1])
	hasText(t, body, `<td class="num">50</td>`, "svc-0907's hour shows on its page")
	hasText(t, body, `<a rel="prev" href="/ui/traffic?page=9">Previous</a>`)
	lacksText(t, body, `rel="next"`)
	_, past := h.get(t, Prefix+"traffic?page="+strconv.Itoa(maxPage))
	assert.Equal(t, rows, serviceTrafficLink.FindAllStringSubmatch(past, -1), "a page past the last is the last")
}

// Every service of the large home named with markup: the lists that grew
// with the provider (the services' pages, the traffic overview's pages,
// the map's service choices and a service's applications) show the names
// as text, never as markup, and each page stays bounded. Oracle:
// html/template's contextual escaping ("<" becomes "&lt;" in HTML text and
// attribute values, https://pkg.go.dev/html/template). The figures are
// logged for BENCHMARKS.md.
func TestLargeHomePagesAreBoundedAndShowMarkupAsText(t *testing.T) {
	const probe = `<img src=x onerror=alert(1)>`
	h := newLargeHome(t, func(i int) string { return fmt.Sprintf("%s %04d", probe, i) })
	h.hit(t, 500, 1, 7)
	paths := []string{Prefix + "services", Prefix + "services?page=10", Prefix + "traffic", Prefix + "traffic?page=10",
		Prefix, Prefix + "services/" + strconv.FormatInt(h.services[500].ID, 10),
		Prefix + "traffic?service=" + strconv.FormatInt(h.services[500].ID, 10)}
	for _, path := range paths {
		code, body := h.get(t, path)
		require.Equal(t, http.StatusOK, code, path)
		t.Logf("GET %s: %d bytes", path, len(body))
		assert.Less(t, len(body), 256<<10, "%s is bounded", path)
		lacksText(t, body, "<img", path)
		if path != Prefix { // the map names services by system name
			hasText(t, body, "&lt;img src=x onerror=alert(1)&gt;", path)
		}
	}
}
