package coordinator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// bulkDocs declares n services named prefix0..., each with a method, a
// mapping rule and two plans with limits: a few thousand entities.
func bulkDocs(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: portolan.dev/v1
kind: Service
system_name: %[1]s%[2]d
name: %[1]s %[2]d
metrics:
- system_name: hits
  methods:
  - {system_name: read, friendly_name: Read}
mapping_rules:
- {http_method: GET, pattern: /read, metric: read, delta: 1}
plans:
- system_name: gold
  name: Gold
  limits:
  - {metric: hits, period: day, value: 1000}
  - {metric: read, period: minute, value: 10}
- system_name: basic
  name: Basic
  limits:
  - {metric: hits, period: day, value: 10}
`, prefix, i)
	}
	return b.String()
}

// servicesNamed counts home's services whose system_name starts with prefix.
func servicesNamed(t *testing.T, co *testenv.Coordinator, prefix string) int {
	t.Helper()
	n := 0
	for _, s := range exportDoc(t, co, false).Services {
		if strings.HasPrefix(s.SystemName, prefix) {
			n++
		}
	}
	return n
}

// A coordinator killed with SIGKILL while it applies many documents comes
// back with all of the apply or none of it: the store writes an apply as
// one revision, in one bbolt transaction. It comes back at a revision above
// the one before the kill, whatever it stored: after a crash the store
// resumes above every revision it may have published (boltstore's floor),
// so agents take what it serves.
func TestApplyKilledMidwayLeavesOneRevisionOrNone(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const n = 300
	post := func(docs string) error {
		req, err := http.NewRequest(http.MethodPost, co.URL+registry.PathAdminApply, strings.NewReader(docs))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/yaml")
		req.SetBasicAuth("", co.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("apply: %s", resp.Status)
		}
		return nil
	}
	// How long one apply takes here, to kill the next ones before, inside
	// and after it: each must end with all or none.
	before := co.Revision(t)
	start := time.Now()
	require.NoError(t, post(bulkDocs("warm", n)))
	took := time.Since(start)
	require.Equal(t, n, servicesNamed(t, co, "warm"))
	require.Equal(t, before+1, co.Revision(t), "an apply is one revision")
	t.Logf("an apply of %d services took %v", n, took)

	outcomes := map[string]int{}
	for i, frac := range []float64{0.2, 0.5, 0.8, 1, 1.2, 1.5, 2} {
		prefix := fmt.Sprintf("bulk%d_", i)
		before := co.Revision(t)
		done := make(chan error, 1)
		go func() { done <- post(bulkDocs(prefix, n)) }()
		time.Sleep(time.Duration(frac * float64(took)))
		co.Kill()
		err := <-done
		co.Start()

		got, rev := servicesNamed(t, co, prefix), co.Revision(t)
		assert.Greater(t, rev, before, "killed at %.0f%%: back above the revision before", frac*100)
		switch got {
		case 0:
			outcomes["none"]++
		case n:
			outcomes["all"]++
		default:
			t.Errorf("killed at %.0f%%: %d of %d services applied (answer: %v)", frac*100, got, n, err)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
