package coordinator_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// A coordinator on Consul killed with SIGKILL in the middle of an apply
// too large for one Consul transaction (staged, then copied to its keys:
// consulstore's staged.go) leaves the apply whole or absent, never in
// part: for itself once restarted, and for another coordinator on the
// same Consul. Each round kills it at another moment of its apply.
func TestKill9DuringALargeApplyOnConsulLeavesItWholeOrAbsent(t *testing.T) {
	consul := testenv.StartConsul(t)
	a := testenv.StartCoordinator(t, "--consul", consul.URL, "--consul-prefix", "large-kill/")
	b := testenv.StartCoordinator(t, "--consul", consul.URL, "--consul-prefix", "large-kill/")
	kv := consul.Client(t).KV()
	const n = 1500
	doc := func(round int) string {
		var s strings.Builder
		s.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: big\nname: Big\nmetrics:\n")
		for i := range n {
			fmt.Fprintf(&s, "- {system_name: r%d-m%d, friendly_name: R%d M%d, unit: hit}\n", round, i, round, i)
		}
		return s.String()
	}
	// apply answers the status, 0 when the kill cut the call.
	apply := func(co *testenv.Coordinator, body string) int {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
			co.URL+registry.PathAdminApply+"?access_token="+co.Token, strings.NewReader(body))
		if err != nil {
			return 0
		}
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// metricsOf counts the metrics of round on co, once co has revision rev.
	metricsOf := func(co *testenv.Coordinator, round int, rev uint64) int {
		require.Eventually(t, func() bool { return co.Revision(t) >= rev }, 10*time.Second, 10*time.Millisecond)
		services := send(t, co, http.MethodGet, "/admin/api/services.json", "", "")
		id := regexp.MustCompile(`"id":(\d+),[^{}]*"system_name":"big"`).FindStringSubmatch(services.body)
		if id == nil {
			return 0
		}
		got := send(t, co, http.MethodGet, "/admin/api/services/"+id[1]+"/metrics.json", "", "")
		require.Equal(t, http.StatusOK, got.status, got.body)
		return strings.Count(got.body, fmt.Sprintf(`"system_name":"r%d-m`, round))
	}

	outcomes := map[int]int{}
	for round, delay := range []time.Duration{10 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond, 130 * time.Millisecond, 160 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond} {
		body := doc(round)
		done := make(chan struct{})
		go func() { defer close(done); _ = apply(a, body) }()
		time.Sleep(delay)
		a.Kill()
		<-done
		pending, _, err := kv.Get("large-kill/composition/pending", nil)
		require.NoError(t, err)
		a.Start()
		rev := a.Revision(t)
		onA, onB := metricsOf(a, round, rev), metricsOf(b, round, rev)
		t.Logf("round %d, killed after %v: %d of %d metrics (committed and not yet copied at the kill: %v)", round, delay, onA, n, pending != nil)
		assert.Contains(t, []int{0, n}, onA, "round %d: whole or absent on the restarted coordinator", round)
		assert.Equal(t, onA, onB, "round %d: the other coordinator reads the same", round)
		outcomes[onA]++
	}
	t.Logf("outcomes (metrics: rounds): %v", outcomes)

	// Both write on what is there.
	rev := a.Revision(t)
	code := apply(b, doc(99))
	if code == http.StatusConflict { // b had not yet seen a's last write: retry, as a client does
		code = apply(b, doc(99))
	}
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, n, metricsOf(a, 99, rev+1), "a large apply through the other coordinator, read by the restarted one")
}
