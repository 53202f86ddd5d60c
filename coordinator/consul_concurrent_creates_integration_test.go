package coordinator_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Two coordinators serving one composition active-active, each given 60
// concurrent metric creates on one service through the Account Management
// API: none of them conflicts with another (each its own system_name), so
// every one is 201, never 409. Porta serializes such creates in its
// database and 3scale's clients (the toolbox, the 3scale Go client,
// Terraform providers) do not retry a create answered 409. The same
// system_name created through both at once is one 201 and porta's 422
// "has already been taken" (porta's Metric validates the uniqueness of
// system_name within its owner), not 409.
func TestTwoCoordinatorsConcurrentCreatesDoNotConflict(t *testing.T) {
	consul := testenv.StartConsul(t)
	args := []string{"--consul", consul.URL, "--consul-prefix", "concurrent-creates/"}
	a := testenv.StartCoordinator(t, args...)
	b := testenv.StartCoordinator(t, args...)
	const form = "application/x-www-form-urlencoded"
	svc := a.Create(t, "/admin/api/services.json", "name=News")
	rev := a.Revision(t)
	require.Eventually(t, func() bool { return b.Revision(t) >= rev }, 10*time.Second, 10*time.Millisecond)
	path := "/admin/api/services/" + svc + "/metrics.json"

	const each = 60
	type outcome struct {
		name string
		got  answer
	}
	results := make(chan outcome, 2*each)
	var wg sync.WaitGroup
	for ci, co := range []*testenv.Coordinator{a, b} {
		for i := range each {
			wg.Go(func() {
				name := fmt.Sprintf("m_%d_%d", ci, i)
				results <- outcome{name, send(t, co, http.MethodPost, path, form, "friendly_name="+name+"&system_name="+name+"&unit=hit")}
			})
		}
	}
	wg.Wait()
	close(results)
	codes := map[int]int{}
	for r := range results {
		codes[r.got.status]++
		if r.got.status != http.StatusCreated {
			t.Logf("%s: %d %s", r.name, r.got.status, r.got.body)
		}
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 2 * each}, codes, "unrelated creates through two coordinators")

	// The same system_name through both at once, many times over.
	for round := range 5 {
		name := fmt.Sprintf("shared_%d", round)
		got := make([]answer, 2)
		for ci, co := range []*testenv.Coordinator{a, b} {
			wg.Go(func() {
				got[ci] = send(t, co, http.MethodPost, path, form, "friendly_name="+name+"&system_name="+name+"&unit=hit")
			})
		}
		wg.Wait()
		statuses := []int{got[0].status, got[1].status}
		assert.ElementsMatch(t, []int{http.StatusCreated, http.StatusUnprocessableEntity}, statuses, "%s: %v", name, got)
		for _, g := range got {
			if g.status == http.StatusUnprocessableEntity {
				assert.Contains(t, g.body, "has already been taken", name)
			}
		}
	}

	for _, co := range []*testenv.Coordinator{a, b} {
		require.Eventually(t, func() bool {
			list := send(t, co, http.MethodGet, path, "", "")
			return list.status == http.StatusOK &&
				strings.Count(list.body, `"system_name":"m_`)+strings.Count(list.body, `"system_name":"shared_`) == 2*each+5
		}, 10*time.Second, 20*time.Millisecond, "every create once, through both")
	}
}
