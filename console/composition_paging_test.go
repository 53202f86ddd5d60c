package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// crowd is a console over a bbolt composition holding one service with
// bigApps applications, bigAppsPerAccount to an account.
const (
	bigApps           = 20_000
	bigAppsPerAccount = 80
)

type crowd struct {
	console *Console
	service *composition.Service
}

func newCrowd(t *testing.T) *crowd {
	t.Helper()
	st, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	cr := &crowd{}
	_, err = st.Update(context.Background(), func(tx *composition.Tx) error {
		cr.service = &composition.Service{Name: "Crowded", SystemName: "crowded", BackendVersion: "1"}
		if err := tx.Create(cr.service); err != nil {
			return err
		}
		plan := &composition.ApplicationPlan{ServiceID: cr.service.ID, Name: "Basic", SystemName: "basic"}
		if err := tx.Create(plan); err != nil {
			return err
		}
		var acc *composition.Account
		for i := range bigApps {
			if i%bigAppsPerAccount == 0 {
				acc = &composition.Account{OrgName: fmt.Sprintf("Account %03d", i/bigAppsPerAccount)}
				if err := tx.Create(acc); err != nil {
					return err
				}
			}
			if err := tx.Create(&composition.Application{AccountID: acc.ID, PlanID: plan.ID,
				Name: fmt.Sprintf("app-%05d", i), UserKey: fmt.Sprintf("user-key-%05d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	reg, err := registry.New(registry.Config{Store: st, Logger: zerolog.Nop()})
	require.NoError(t, err)
	cr.console, err = New(Config{Snapshot: st.Snapshot, Map: reg, Tokens: threescale.NewTokenChecker("console-test-token"),
		Version: "test", Logger: zerolog.Nop()})
	require.NoError(t, err)
	return cr
}

func (cr *crowd) get(t *testing.T, query string) string {
	t.Helper()
	path := Prefix + "services/" + strconv.FormatInt(cr.service.ID, 10) + query
	w := httptest.NewRecorder()
	cr.console.ServeHTTP(w, signedInRequest(cr.console, path))
	require.Equal(t, http.StatusOK, w.Code, "GET %s", path)
	return w.Body.String()
}

var appLink = regexp.MustCompile(`<a class="app-traffic-link" href="[^"]+">(app-\d+)</a>`)

// appsOn returns the applications a service page lists, in order.
func appsOn(body string) []string {
	var out []string
	for _, m := range appLink.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestServicePageShowsTwentyThousandApplicationsAHundredAtATime(t *testing.T) {
	cr := newCrowd(t)
	base := Prefix + "services/" + strconv.FormatInt(cr.service.ID, 10)

	first := cr.get(t, "")
	assert.Less(t, len(first), 128<<10, "one page of a crowded service stays small")
	apps := appsOn(first)
	require.Equal(t, appsPageSize, len(apps), "the first page holds one page of applications")
	assert.Equal(t, "app-00000", apps[0])
	assert.Equal(t, "app-00099", apps[appsPageSize-1])
	hasText(t, first, "Showing applications 1–100 of 20000")
	hasText(t, first, "(20000)", "the heading counts every application")
	hasText(t, first, `<a rel="next" href="`+base+`?page=2#apps">Next</a>`)
	lacksText(t, first, `rel="prev"`, "no page before the first")
	assert.Equal(t, 1, countOf(first, "<h3>Account 001"), "an account's name heads its applications once")

	mid := cr.get(t, "?page=2")
	apps = appsOn(mid)
	require.Equal(t, appsPageSize, len(apps))
	assert.Equal(t, []string{"app-00100", "app-00199"}, []string{apps[0], apps[len(apps)-1]})
	hasText(t, mid, "Showing applications 101–200 of 20000")
	hasText(t, mid, `<a rel="prev" href="`+base+`#apps">Previous</a>`)
	hasText(t, mid, `<a rel="next" href="`+base+`?page=3#apps">Next</a>`)
	hasText(t, mid, "Account 001 <span class=\"muted\">continued</span>",
		"an account begun on the page before says it continues")

	last := cr.get(t, "?page=200")
	apps = appsOn(last)
	require.Equal(t, appsPageSize, len(apps), "20000 divide into 200 full pages")
	assert.Equal(t, []string{"app-19900", "app-19999"}, []string{apps[0], apps[len(apps)-1]})
	hasText(t, last, "Showing applications 19901–20000 of 20000")
	hasText(t, last, `<a rel="prev" href="`+base+`?page=199#apps">Previous</a>`)
	lacksText(t, last, `rel="next"`, "no page after the last")

	// Page numbers are clamped, as the map's are: past the last is the
	// last, anything not a page number is the first.
	for q, want := range map[string]string{"?page=201": "app-19900", "?page=99999999999999999999": "app-19900",
		"?page=0": "app-00000", "?page=-4": "app-00000", "?page=two": "app-00000", "?page=": "app-00000"} {
		apps := appsOn(cr.get(t, q))
		require.NotEmpty(t, apps, q)
		assert.Equal(t, want, apps[0], q)
	}
}

func countOf(s, sub string) int {
	return len(regexp.MustCompile(regexp.QuoteMeta(sub)).FindAllStringIndex(s, -1))
}

// The lists a service page shows whole are bounded too: past maxRows
// mapping rules, the first are shown and the rest counted; the services
// list is paged as the applications are.
func TestServicePagesBoundEveryList(t *testing.T) {
	const services, rules = servicesPageSize + 5, maxRows + 30
	st := memStore{composition.NewHead(composition.New(),
		func(context.Context, []composition.Change, *composition.Composition) error { return nil }, nil)}
	t.Cleanup(func() { _ = st.Close() })
	var first *composition.Service
	_, err := st.Update(context.Background(), func(tx *composition.Tx) error {
		for i := range services {
			s := &composition.Service{Name: fmt.Sprintf("svc-%03d", i), SystemName: fmt.Sprintf("svc%03d", i)}
			if err := tx.Create(s); err != nil {
				return err
			}
			if i == 0 {
				first = s
			}
		}
		hits, _ := tx.View().Hits(composition.OwnerService, first.ID)
		for i := range rules {
			if err := tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: first.ID,
				MetricID: hits.ID, HTTPMethod: "GET", Pattern: fmt.Sprintf("/r%04d", i), Delta: 1, Position: int64(i + 1)}); err != nil {
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
	get := func(path string) string {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, signedInRequest(c, path))
		require.Equal(t, http.StatusOK, w.Code, path)
		return w.Body.String()
	}
	links := regexp.MustCompile(`class="service-link"`)

	body := get(Prefix + "services/" + strconv.FormatInt(first.ID, 10))
	assert.Equal(t, maxRows, countOf(body, "<code>/r"), "the first mapping rules are shown")
	hasText(t, body, "30 more mapping rules not shown: the Account Management API lists them all.")

	body = get(Prefix + "services")
	assert.Len(t, links.FindAllString(body, -1), servicesPageSize)
	hasText(t, body, "Services 1–100 of 105, by name")
	hasText(t, body, `<a rel="next" href="/ui/services?page=2">Next</a>`)
	body = get(Prefix + "services?page=2")
	assert.Len(t, links.FindAllString(body, -1), services-servicesPageSize, "the last page holds the rest")
	hasText(t, body, "Services 101–105 of 105, by name")
	hasText(t, body, ">svc-104</a>")
	hasText(t, body, `<a rel="prev" href="/ui/services">Previous</a>`)
}

// hasText fails when body lacks want, without quoting a page of megabytes.
func hasText(t *testing.T, body, want string, msg ...any) {
	t.Helper()
	if !strings.Contains(body, want) {
		t.Errorf("the page (%d bytes) lacks %q %v", len(body), want, msg)
	}
}

// lacksText fails when body holds unwanted.
func lacksText(t *testing.T, body, unwanted string, msg ...any) {
	t.Helper()
	if strings.Contains(body, unwanted) {
		t.Errorf("the page (%d bytes) holds %q %v", len(body), unwanted, msg)
	}
}
