package coordinator_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A coordinator killed with SIGKILL while concurrent authreps and
// composition writes are being group-committed (authreps through the usage
// log, checkpointed into usage.db in the background) comes back with every
// acknowledged one: each acknowledged authrep's hit is counted, each
// acknowledged service is there, whole. Nothing unacknowledged is half
// there: a hit is in every period or in none, a service has its hits metric
// and proxy or does not exist, and nothing is there that was never sent.
func TestKill9GroupCommitKeepsAcknowledgedUsageAndWrites(t *testing.T) {
	co, q := startSMApp(t, "day", "month", "eternity")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

	var authrepsSent, authrepsAcked atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				authrepsSent.Add(1)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, co.URL+"/transactions/authrep.xml?"+q, nil)
				resp, err := client.Do(req)
				if err != nil {
					return // the coordinator died under us
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "<authorized>true</authorized>") {
					authrepsAcked.Add(1)
				}
			}
		})
	}
	writes := startServiceWriters(ctx, &wg, co, client, 8)
	// The kill comes after the usage log's first checkpoints (one a
	// second): the restart replays the log on top of a checkpointed usage.db.
	loaded := time.Now()
	require.Eventually(t, func() bool {
		return writes.acked() >= 60 && authrepsAcked.Load() >= 300 && time.Since(loaded) > 1500*time.Millisecond
	}, 60*time.Second, 5*time.Millisecond, "writes acknowledged before the kill")
	co.Kill()
	cancel()
	wg.Wait()
	acked, sent := authrepsAcked.Load(), authrepsSent.Load()
	co.Start()

	// Usage: every acknowledged hit counted, the same in every period.
	counted := storedHits(t, co, q)
	for _, period := range []string{"day", "month"} {
		assert.Equal(t, counted["eternity"], counted[period], "a hit is in every period or in none (%s)", period)
	}
	assert.GreaterOrEqual(t, counted["eternity"], acked, "an acknowledged authrep's hit was lost")
	assert.LessOrEqual(t, counted["eternity"], sent, "more hits than authreps sent")

	// Composition: every acknowledged service there, every service there sent
	// and whole.
	found := writes.check(t, co)
	t.Logf("before kill -9: %d of %d authreps and %d of %d service creates acknowledged; after: %d hits, %d services",
		acked, sent, writes.acked(), writes.sent(), counted["eternity"], found)

	// And both go on counting from there.
	got := send(t, co, http.MethodGet, "/transactions/authrep.xml?"+q, "", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, counted["eternity"]+1, storedHits(t, co, q)["eternity"])
}

// serviceWriters create services named gc-<writer>-<n> through the 3scale
// API until their context ends or the coordinator dies under them, keeping
// the names sent and the names acknowledged (201).
type serviceWriters struct {
	mu         sync.Mutex
	sentNames  map[string]bool
	ackedNames map[string]bool
}

func startServiceWriters(ctx context.Context, wg *sync.WaitGroup, co *testenv.Coordinator, client *http.Client, n int) *serviceWriters {
	s := &serviceWriters{sentNames: map[string]bool{}, ackedNames: map[string]bool{}}
	for w := range n {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("gc-%d-%d", w, i)
				s.mu.Lock()
				s.sentNames[name] = true
				s.mu.Unlock()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, co.URL+"/admin/api/services.json",
					strings.NewReader(url.Values{"name": {name}, "system_name": {name}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("", co.Token)
				resp, err := client.Do(req)
				if err != nil {
					return // the coordinator died under us
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					s.mu.Lock()
					s.ackedNames[name] = true
					s.mu.Unlock()
				}
			}
		})
	}
	return s
}

func (s *serviceWriters) acked() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.ackedNames) }
func (s *serviceWriters) sent() int  { s.mu.Lock(); defer s.mu.Unlock(); return len(s.sentNames) }

// check asserts, once the writers have stopped, that every acknowledged
// service is on co and every gc- service there was sent and is whole (its
// hits metric and proxy); it returns how many there are.
func (s *serviceWriters) check(t *testing.T, co *testenv.Coordinator) (found int) {
	t.Helper()
	services := listServices(t, co)
	for name := range s.ackedNames {
		assert.Contains(t, services, name, "acknowledged service %s lost", name)
	}
	for name, id := range services {
		if !strings.HasPrefix(name, "gc-") {
			continue
		}
		found++
		assert.True(t, s.sentNames[name], "service %s was never sent", name)
		got := send(t, co, http.MethodGet, fmt.Sprintf("/admin/api/services/%d/metrics.json", id), "", "")
		require.Equal(t, http.StatusOK, got.status)
		assert.Contains(t, got.body, `"system_name":"hits"`, "service %s has its hits metric", name)
		got = send(t, co, http.MethodGet, fmt.Sprintf("/admin/api/services/%d/proxy.json", id), "", "")
		assert.Equal(t, http.StatusOK, got.status, "service %s has its proxy", name)
	}
	return found
}

// storedHits reads the application's stored hits per limited period with an
// authorize that predicts no usage.
func storedHits(t *testing.T, co *testenv.Coordinator, q string) map[string]int64 {
	t.Helper()
	v, err := url.ParseQuery(q)
	require.NoError(t, err)
	v.Del("usage[hits]")
	got := send(t, co, http.MethodGet, "/transactions/authorize.xml?"+v.Encode(), "", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	var status struct {
		Reports []struct {
			Metric  string `xml:"metric,attr"`
			Period  string `xml:"period,attr"`
			Current int64  `xml:"current_value"`
		} `xml:"usage_reports>usage_report"`
	}
	require.NoError(t, xml.Unmarshal([]byte(got.body), &status))
	out := map[string]int64{}
	for _, r := range status.Reports {
		if r.Metric == "hits" {
			out[r.Period] = r.Current
		}
	}
	return out
}

// listServices returns home's services by system_name.
func listServices(t *testing.T, co *testenv.Coordinator) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for page := 1; ; page++ {
		got := send(t, co, http.MethodGet, fmt.Sprintf("/admin/api/services.json?per_page=500&page=%d", page), "", "")
		require.Equal(t, http.StatusOK, got.status)
		var list struct {
			Services []struct {
				Service struct {
					ID         int64  `json:"id"`
					SystemName string `json:"system_name"`
				} `json:"service"`
			} `json:"services"`
		}
		require.NoError(t, json.Unmarshal([]byte(got.body), &list))
		for _, s := range list.Services {
			out[s.Service.SystemName] = s.Service.ID
		}
		if len(list.Services) < 500 {
			return out
		}
	}
}
