package coordinator_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/usage"
)

// A usage log that cannot be written (the disk is full) refuses every batch
// until home restarts, and home's readiness says so: an orchestrator or an
// operator sees "usage": "failed" rather than a home that answers ok while
// it counts nothing. The restart, once there is room, counts every
// acknowledged hit and nothing refused.
func TestReadyNamesUsageWhenItsLogCannotBeWritten(t *testing.T) {
	co, q := startSMApp(t, "eternity")
	got := send(t, co, http.MethodGet, "/transactions/authrep.xml?"+q, "", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	code, body := probe(t, co, http.MethodGet, coordinator.PathHealthReady)
	require.Equal(t, http.StatusOK, code, body)
	_, checks := readiness(t, body)
	assert.Equal(t, map[string]string{"store": "ok", "usage": "ok"}, checks)

	wal, err := os.Stat(filepath.Join(co.DataDir, usage.WALFile))
	require.NoError(t, err)
	co.LimitFileSize(t, wal.Size()) // the disk is full: the log cannot grow
	got = send(t, co, http.MethodGet, "/transactions/authrep.xml?"+q, "", "")
	require.Equal(t, http.StatusInternalServerError, got.status, "usage that cannot be kept is refused: %s", got.body)

	code, body = probe(t, co, http.MethodGet, coordinator.PathHealthReady)
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	status, checks := readiness(t, body)
	assert.Equal(t, "unavailable", status)
	assert.Equal(t, map[string]string{"store": "ok", "usage": "failed"}, checks)
	code, _ = probe(t, co, http.MethodGet, coordinator.PathHealthLive)
	assert.Equal(t, http.StatusOK, code, "live: it still serves the composition")

	co.Kill()
	co.Start() // with room again
	code, body = probe(t, co, http.MethodGet, coordinator.PathHealthReady)
	assert.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, int64(1), storedHits(t, co, q)["eternity"], "the acknowledged hit, not the refused one")
}

// A composition write the disk has no room for is answered 500, as 3scale
// answers a server error, and the coordinator logs why: without the log an
// operator's only sign of a full disk would be a client's 500. Nothing of
// the write is kept, and once there is room again writes go on.
func TestCompositionWriteOnAFullDiskIsLoggedAndNotKept(t *testing.T) {
	co := testenv.StartCoordinator(t)
	db, err := os.Stat(filepath.Join(co.DataDir, boltstore.FileName))
	require.NoError(t, err)
	co.LimitFileSize(t, db.Size()) // the disk is full: composition.db cannot grow

	// Each service takes pages of its own: within a few the file must grow.
	var refused string
	description := strings.Repeat("d", 2000)
	for i := 0; i < 200 && refused == ""; i++ {
		name := fmt.Sprintf("full-%d", i)
		got := send(t, co, http.MethodPost, "/admin/api/services.json", "application/x-www-form-urlencoded",
			url.Values{"name": {name}, "system_name": {name}, "description": {description}}.Encode())
		switch got.status {
		case http.StatusCreated:
		case http.StatusInternalServerError:
			refused = name
		default:
			t.Fatalf("create %s: %d %s", name, got.status, got.body)
		}
	}
	require.NotEmpty(t, refused, "a write past the file's size was refused")
	// The coordinator logs why, what its caller was answered and the cause.
	co.Output.Contains(t, "answered a server error", `"route":"POST /admin/api/services"`, `"status":500`, "file too large")
	before := co.Revision(t)

	co.LimitFileSize(t, math.MaxInt64) // room again
	services := listServices(t, co)
	assert.NotContains(t, services, refused, "nothing of the refused write is kept")
	got := send(t, co, http.MethodPost, "/admin/api/services.json", "application/x-www-form-urlencoded", "name=After&system_name=after")
	require.Equal(t, http.StatusCreated, got.status, got.body)
	assert.Equal(t, before+1, co.Revision(t), "the refused write took no revision")
}
