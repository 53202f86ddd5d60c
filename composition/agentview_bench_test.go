package composition_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// viewFixture is a service with n applications (user_key) on one plan: a
// composition of about n entities, all in the view.
func viewFixture(b *testing.B, n int) *composition.Snapshot {
	b.Helper()
	tx := composition.NewTx(composition.New(), time.Now())
	svc := &composition.Service{Name: "News", BackendVersion: "1"}
	must(b, tx.Create(svc))
	plan := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Basic"}
	must(b, tx.Create(plan))
	acct := &composition.Account{OrgName: "Acme"}
	must(b, tx.Create(acct))
	for i := range n {
		must(b, tx.Create(&composition.Application{AccountID: acct.ID, PlanID: plan.ID, Name: fmt.Sprintf("app-%d", i),
			UserKey: fmt.Sprintf("user-key-%08d", i)}))
	}
	return tx.Result()
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkViewSignVerify is what one revision costs at 10,000 entities:
// home builds the view (credentials hashed), encodes and signs it; an agent
// verifies it. "encode" is the unsigned baseline (today's export), in the
// same run.
func BenchmarkViewSignVerify(b *testing.B) {
	snap := viewFixture(b, 10_000)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	must(b, err)
	pub := key.Public().(ed25519.PublicKey)
	hk := make([]byte, composition.CredentialKeySize)
	_, _ = rand.Read(hk)
	now := time.Now()
	doc, err := json.Marshal(composition.AgentView(snap, "news", hk, now))
	must(b, err)
	sig := pki.SignComposition(key, snap.Revision, "news", doc)
	b.Logf("view of 10,000 applications: %d bytes", len(doc))

	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(composition.Export(snap, true, now)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("view+sign", func(b *testing.B) {
		for b.Loop() {
			d, err := json.Marshal(composition.AgentView(snap, "news", hk, now))
			if err != nil {
				b.Fatal(err)
			}
			_ = pki.SignComposition(key, snap.Revision, "news", d)
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if err := pki.VerifyComposition(pub, snap.Revision, "news", doc, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
