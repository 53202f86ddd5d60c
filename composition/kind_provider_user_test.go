package composition

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProviderUserTakesItsPreferencesAndLosesDeletedServices(t *testing.T) {
	h := newTestHead()
	var staff *User
	var news, weather *Service
	mustUpdate(t, h, func(tx *Tx) error {
		news, _ = createService(t, tx, "News", "1")
		weather, _ = createService(t, tx, "Weather", "1")
		staff = &User{AccountID: ProviderAccountID, Username: "staff", Email: "staff@provider.example",
			AllowedSections: []string{"plans"}, AllowedServiceIDs: &[]int64{news.ID, weather.ID}}
		require.NoError(t, tx.Create(staff))
		return tx.Create(&NotificationPreferences{UserID: staff.ID, Preferences: map[string]bool{"daily_report": true}})
	})
	snap := mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindService, weather.ID) })
	got, _ := snap.Users.Get(staff.ID)
	assert.Equal(t, []int64{news.ID}, *got.AllowedServiceIDs, "a deleted service is no longer allowed")

	snap = mustUpdate(t, h, func(tx *Tx) error { return tx.Delete(KindUser, staff.ID) })
	_, ok := snap.NotificationPreferencesOf(staff.ID)
	assert.False(t, ok, "a user's preferences go with it")
}

func TestOnlyProviderUsersHavePermissions(t *testing.T) {
	h := newTestHead()
	_, err := h.Update(context.Background(), func(tx *Tx) error {
		acc := createAccount(t, tx, "Acme")
		return tx.Create(&User{AccountID: acc.ID, Username: "dev", AllowedSections: []string{"portal"}})
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only for users of the provider account")

	_, err = h.Update(context.Background(), func(tx *Tx) error {
		return tx.Create(&NotificationPreferences{UserID: 12345})
	})
	require.Error(t, err, "preferences of no provider user")
}
