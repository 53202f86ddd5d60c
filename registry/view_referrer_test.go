package registry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// The signature covers what the gateway enforces referrer filters with:
// a view whose filter or whose service's referrer_filters_required was
// edited after signing is refused, as any other edit is.
func TestSignedViewCoversReferrerFilters(t *testing.T) {
	tx := composition.NewTx(composition.New(), time.Now())
	svc := &composition.Service{Name: "News", BackendVersion: "1", ReferrerFiltersRequired: true}
	require.NoError(t, tx.Create(svc))
	plan := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Basic"}
	require.NoError(t, tx.Create(plan))
	acct := &composition.Account{OrgName: "Acme"}
	require.NoError(t, tx.Create(acct))
	require.NoError(t, tx.Create(&composition.Application{AccountID: acct.ID, PlanID: plan.ID, Name: "web",
		ReferrerFilters: []composition.ReferrerFilter{{ID: 90, Value: "app.example.com"}}}))

	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := NewSigner(key, bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	b, err := s.View(tx.Result(), svc.SystemName, time.Now())
	require.NoError(t, err)
	_, err = OpenView(pub, b)
	require.NoError(t, err, "the view as signed opens")

	for _, edit := range []struct{ from, to string }{
		{`"value":"app.example.com"`, `"value":"*"`},
		{`"referrer_filters_required":true`, `"referrer_filters_required":false`},
	} {
		require.Contains(t, string(b), edit.from, "the view carries it")
		_, err := OpenView(pub, bytes.Replace(b, []byte(edit.from), []byte(edit.to), 1))
		assert.ErrorIs(t, err, pki.ErrBadSignature, "%s edited to %s", edit.from, edit.to)
	}
}
