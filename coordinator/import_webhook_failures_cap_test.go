package coordinator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// An import carries webhook failures (an operator's record), so it is held
// to --max-webhook-failures: a home exporting more than this one keeps is
// refused with the flag named, not imported past the bound.
func TestImportIsHeldToTheWebhookFailuresBound(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{WebhookFailures: 2})
	_, err := c.store.Update(context.Background(), func(tx *composition.Tx) error {
		for range 3 {
			if err := tx.Create(&composition.WebHookFailure{UUID: "u", Time: tx.Now(), Error: "answered 503"}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, registry.PathAdminComposition+"?access_token="+fixtureToken, nil)
	w := httptest.NewRecorder()
	c.portability().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	doc := w.Body.String()
	_, err = c.store.Update(context.Background(), func(tx *composition.Tx) error {
		for _, f := range tx.View().WebHookFailures.All() {
			if err := tx.Delete(composition.KindWebHookFailure, f.ID); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	r = httptest.NewRequest(http.MethodPost, registry.PathAdminComposition+"?access_token="+fixtureToken, strings.NewReader(doc))
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	c.portability().ServeHTTP(w, r)
	require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "--max-webhook-failures")
	require.Zero(t, c.store.Snapshot().WebHookFailures.Len(), "nothing imported")
}
