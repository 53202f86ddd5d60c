package consulcatalog

import (
	"testing"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/registry"
)

// The draining flag in Meta makes a critical instance draining only while
// its agent is there to say so: a failed node or an expired TTL is critical,
// whatever Meta says; a flag other than "true" is not a flag.
func TestDrainingFlagYieldsToAFailedNodeOrExpiredTTL(t *testing.T) {
	entry := func(meta map[string]string, checks ...*consul.HealthCheck) *consul.ServiceEntry {
		return &consul.ServiceEntry{Node: &consul.Node{Node: "n1"},
			Service: &consul.AgentService{ID: "a", Service: "news", Meta: meta}, Checks: checks}
	}
	draining := map[string]string{MetaDraining: MetaTrue}
	fed := &consul.HealthCheck{CheckID: "service:a", ServiceID: "a", Status: consul.HealthCritical, Output: "draining: the instance is stopping"}
	expired := &consul.HealthCheck{CheckID: "service:a", ServiceID: "a", Status: consul.HealthCritical,
		Output: "TTL expired (last output before timeout follows): draining: the instance is stopping"}
	fedPassing := &consul.HealthCheck{CheckID: "service:a", ServiceID: "a", Status: consul.HealthPassing, Output: "draining: the instance is stopping"}
	maint := &consul.HealthCheck{CheckID: consul.ServiceMaintPrefix + "a", ServiceID: "a", Status: consul.HealthCritical,
		Notes: "portolan: draining, the instance is stopping"}
	nodeUp := &consul.HealthCheck{CheckID: "serfHealth", Status: consul.HealthPassing}
	nodeDown := &consul.HealthCheck{CheckID: "serfHealth", Status: consul.HealthCritical, Output: "Agent not live or unreachable"}
	for _, tc := range []struct {
		name string
		e    *consul.ServiceEntry
		want string
	}{
		{"draining, fed", entry(draining, nodeUp, fed), registry.StatusDraining},
		{"draining, passing for a moment", entry(draining, nodeUp, &consul.HealthCheck{ServiceID: "a", Status: consul.HealthPassing}), registry.StatusDraining},
		{"draining, TTL expired", entry(draining, nodeUp, expired), registry.StatusCritical},
		{"draining, node down", entry(draining, nodeDown, fed), registry.StatusCritical},
		// As an agent drains since it takes its service out of Consul's
		// passing set by maintenance mode: its TTL check fed passing until
		// the agent is gone, when it expires (a change of status, which
		// reaches the catalog at once).
		{"draining in maintenance, fed", entry(draining, nodeUp, fedPassing, maint), registry.StatusDraining},
		{"draining in maintenance, TTL expired", entry(draining, nodeUp, expired, maint), registry.StatusCritical},
		{"maintenance, not draining", entry(nil, nodeUp, fedPassing, maint), registry.StatusCritical},
		{"not draining", entry(nil, nodeUp, fed), registry.StatusCritical},
		{"flag not true", entry(map[string]string{MetaDraining: "false"}, nodeUp, fed), registry.StatusCritical},
	} {
		assert.Equal(t, tc.want, instanceStatus(tc.e), tc.name)
	}
}
