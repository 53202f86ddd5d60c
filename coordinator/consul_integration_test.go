package coordinator_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func serviceNames(t *testing.T, co *testenv.Coordinator) []string {
	got := send(t, co, "GET", "/admin/api/services.json", "", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	var list struct {
		Services []struct {
			Service struct {
				SystemName string `json:"system_name"`
			} `json:"service"`
		} `json:"services"`
	}
	require.NoError(t, json.Unmarshal([]byte(got.body), &list))
	var names []string
	for _, s := range list.Services {
		names = append(names, s.Service.SystemName)
	}
	return names
}

// Two coordinators on one Consul serve one composition: writes through
// either are visible through both, of two conflicting writes exactly one
// wins and nothing is half-written, and killing one loses nothing.
func TestTwoCoordinatorsOnOneConsul(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	consul := testenv.StartConsul(t)
	args := []string{"--consul", consul.URL, "--consul-prefix", "two-coordinators/"}
	a := testenv.StartCoordinator(t, args...)
	b := testenv.StartCoordinator(t, args...)
	const form = "application/x-www-form-urlencoded"

	require.Equal(t, http.StatusCreated, send(t, a, "POST", "/admin/api/services.json", form, "name=News").status)
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual([]string{"news"}, serviceNames(t, b)) }, 3*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusCreated, send(t, b, "POST", "/admin/api/services.json", form, "name=Weather").status)
	require.Eventually(t, func() bool { return len(serviceNames(t, a)) == 2 }, 3*time.Second, 20*time.Millisecond)

	// The same system_name through both at once: one wins, the other gets
	// 409 (it lost the race) or 422 (it saw the winner).
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, co := range []*testenv.Coordinator{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = send(t, co, "POST", "/admin/api/services.json", form, "name=Shared").status
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		assert.Contains(t, []int{http.StatusCreated, http.StatusConflict, http.StatusUnprocessableEntity}, c)
		if c == http.StatusCreated {
			created++
		}
	}
	assert.Equal(t, 1, created, "exactly one of the conflicting writes wins: %v", codes)
	require.Eventually(t, func() bool {
		na, nb := serviceNames(t, a), serviceNames(t, b)
		return len(na) == 3 && assert.ObjectsAreEqual(na, nb)
	}, 3*time.Second, 20*time.Millisecond, "exactly one shared service, through both")

	a.Kill()
	assert.Len(t, serviceNames(t, b), 3)
	require.Equal(t, http.StatusCreated, send(t, b, "POST", "/admin/api/services.json", form, "name=After").status)
	a.Start()
	assert.Equal(t, serviceNames(t, b), serviceNames(t, a), "nothing lost with a coordinator killed")
}

// With --consul, the coordinator's map shows every instance any agent in the
// datacenter registered in Consul, also those that never phone home here;
// one that does both is drawn once. A deregistration leaves the map.
func TestCoordinatorMapShowsConsulCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	cs := testenv.StartConsul(t)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-prefix", "catalog/")
	co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")

	both := testenv.StartAgent(t, co, "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3001", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	elsewhere := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--service", "newsapi", "--address", "127.0.0.1",
		"--port", "3002", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	bothID, elsewhereID := both.ID(), elsewhere.ID()

	require.Eventually(t, func() bool {
		m := co.Map(t)
		in, ok := testenv.FindInstance(m, elsewhereID)
		_, ok2 := testenv.FindInstance(m, bothID)
		return ok && ok2 && in.Status == "passing"
	}, 15*time.Second, 50*time.Millisecond, "both instances on home's map")
	m := co.Map(t)
	require.Len(t, m.Services, 1)
	assert.Equal(t, "newsapi", m.Services[0].Name)
	assert.Len(t, m.Services[0].Instances, 2, "the agent registered in both places is drawn once")
	in, _ := testenv.FindInstance(m, elsewhereID)
	assert.Equal(t, 3002, in.Port)
	assert.True(t, in.LastHeartbeat.IsZero(), "known from Consul only")

	elsewhere.Signal(syscall.SIGTERM)
	_, exited := elsewhere.Wait(15 * time.Second)
	require.True(t, exited)
	require.Eventually(t, func() bool { _, ok := testenv.FindInstance(co.Map(t), elsewhereID); return !ok },
		10*time.Second, 50*time.Millisecond, "deregistered from Consul, gone from the map")
}
