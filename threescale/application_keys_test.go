package threescale

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Application Key List shows each key's own time, as porta's ApplicationKey
// records have one (3scale/porta app/models/application_key.rb). An
// application stored by a Portolan that kept no key times (bbolt data
// without key_created_at) dates every key from its own creation; an update
// that drops a key drops its time, so a key added again is a new one.
func TestApplicationKeyTimesFallBackAndFollowTheKeys(t *testing.T) {
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var stored composition.Application
	require.NoError(t, json.Unmarshal([]byte(`{"id":7,"keys":["first-key"],`+
		`"created_at":"2025-03-01T10:00:00Z","updated_at":"2025-06-01T10:00:00Z"}`), &stored))
	assert.Nil(t, stored.KeyCreatedAt)
	assert.Equal(t, created, stored.KeyCreated("first-key"), "the application's created_at, not its updated_at")

	tx := composition.NewTx(composition.New(), created)
	svc := &composition.Service{Name: "Ids", BackendVersion: "2"}
	require.NoError(t, tx.Create(svc))
	plan := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Basic"}
	require.NoError(t, tx.Create(plan))
	acct := &composition.Account{OrgName: "Acme"}
	require.NoError(t, tx.Create(acct))
	app := &composition.Application{AccountID: acct.ID, PlanID: plan.ID, Name: "App", AppKeys: []string{"first-key"}}
	require.NoError(t, tx.Create(app))

	added := created.Add(time.Hour)
	n := *app
	n.AppKeys = []string{"first-key", "second-key"}
	n.KeyCreatedAt = map[string]time.Time{"second-key": added}
	tx = composition.NewTx(tx.Result(), added)
	require.NoError(t, tx.Update(&n))
	got, _ := tx.View().Applications.Get(app.ID)
	assert.Equal(t, created, got.KeyCreated("first-key"))
	assert.Equal(t, added, got.KeyCreated("second-key"))

	// second-key goes by an update that leaves its time behind.
	m := *got
	m.AppKeys = []string{"first-key"}
	require.NoError(t, tx.Update(&m))
	got, _ = tx.View().Applications.Get(app.ID)
	assert.Empty(t, got.KeyCreatedAt, "no time kept for a key the application no longer has")
}
