//go:build upgrade

package coordinator_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A rollback after a crash: the current home crashed (kill -9), started
// again above every revision it may have published (composition.floor),
// and agents took that revision. The operator then rolls back to an older
// build that predates composition.floor (PORTOLAN_OLD_BIN; the build of
// 2026-12-04, fdef400, is one), which reads composition.db alone. It must
// go on from at least the revision agents hold: agents never move back
// (DESIGN.md, "they never move back to an older revision"), so a home
// below them has every change, a suspended application included, ignored
// by every agent.
func TestUpgradeRollbackAfterCrashKeepsTheRevisionAgentsHold(t *testing.T) {
	old := oldBinary(t)
	co := testenv.StartCoordinator(t)
	co.Create(t, "/admin/api/services.json", "name=News&system_name=news")
	co.Kill()
	co.Start()
	published := co.Revision(t)
	co.Stop()

	startOldHome(t, old, co)
	got := co.Revision(t)
	require.NotZero(t, got, "the older home serves the composition")
	assert.GreaterOrEqual(t, got, published,
		"the older home went back to revision %d, below revision %d the current one published after its crash: agents ignore it", got, published)
}
