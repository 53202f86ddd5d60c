package ledger

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// meteredService is a service made on a real home, with a metric "calls",
// a plan and an account signed up on it, for tests that count usage there.
type meteredService struct {
	co                      *testenv.Coordinator
	svc, metric, plan, acct int64
}

func newMeteredService(t *testing.T, co *testenv.Coordinator, name string) *meteredService {
	t.Helper()
	m := &meteredService{co: co}
	m.svc = m.id(t, co.Create(t, "/admin/api/services.json", "name="+name+"&system_name="+name))
	m.metric = m.id(t, co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", m.svc), "friendly_name=Calls&system_name=calls&unit=call"))
	m.plan = m.id(t, co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", m.svc), "name=P"))
	m.acct = m.id(t, co.Create(t, "/admin/api/signup.json",
		fmt.Sprintf("org_name=Org&username=%s&email=%s@example.com&password=s3cret-pass&application_plan_id=%d", name, name, m.plan)))
	return m
}

// app makes an application of the plan named name.
func (m *meteredService) app(t *testing.T, name string) int64 {
	t.Helper()
	return m.id(t, m.co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", m.acct), fmt.Sprintf("name=%s&plan_id=%d", name, m.plan)))
}

func (m *meteredService) id(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}
