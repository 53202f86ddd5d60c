package composition

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Ids are one sequence and references name entities by id alone: a
// document in which two entities share an id is refused whole, by Import
// and by ImportByName, rather than merged into one.
func TestImportRefusesDocumentWithDuplicateIDs(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Svc", "1")
	createMetric(t, tx, OwnerService, svc.ID, 0, "Bytes")
	createAccount(t, tx, "Acme")
	home := tx.Result()

	for name, edit := range map[string]func(d *Document){
		"same kind": func(d *Document) {
			dup := *d.Metrics[len(d.Metrics)-1]
			dup.SystemName, dup.FriendlyName = "other", "Other"
			d.Metrics = append(d.Metrics, &dup)
		},
		"another kind": func(d *Document) { d.Accounts[0].ID = d.Metrics[0].ID },
		"two proxies": func(d *Document) {
			dup := *d.Proxies[0]
			d.Proxies = append(d.Proxies, &dup)
		},
	} {
		t.Run(name, func(t *testing.T) {
			d := Export(home, true, testNow)
			edit(d)
			_, err := Import(NewTx(New(), testNow), d)
			requireField(t, err, "id")
			_, err = ImportByName(NewTx(home, testNow), d)
			requireField(t, err, "id")
		})
	}
	_, err := Import(NewTx(New(), testNow), Export(home, true, testNow))
	require.NoError(t, err, "a document of one home")
}
