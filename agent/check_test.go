package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/registry"
)

// A start period turns failures into "starting" warnings until the first
// pass or its end, whichever comes first, and never again after that.
func TestStartPeriodCountsFailuresAsStartingUntilAPassOrItsEnd(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	p := &startPeriod{until: t0.Add(30 * time.Second)}
	status, out := p.count(t0, registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusWarning, status)
	assert.Equal(t, "starting: connection refused", out)
	status, _ = p.count(t0.Add(time.Second), registry.StatusPassing, "ok")
	assert.Equal(t, registry.StatusPassing, status, "the first pass ends it")
	status, out = p.count(t0.Add(2*time.Second), registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusCritical, status, "after a pass, failures count at once")
	assert.Equal(t, "connection refused", out)

	late := &startPeriod{until: t0.Add(30 * time.Second)}
	status, _ = late.count(t0.Add(30*time.Second), registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusCritical, status, "its end ends it")

	none := &startPeriod{until: t0} // --check-start-period 0
	status, _ = none.count(t0, registry.StatusCritical, "connection refused")
	assert.Equal(t, registry.StatusCritical, status, "no period: the first failure counts")
}
