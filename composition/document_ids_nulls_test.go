package composition

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// A document may hold null entries (a hand-edited list, "metrics": [null,
// {...}]); an entity with an id no home gives is named by its true place
// in its list, nulls counted, so that the user finds it.
func TestImportNamesTheTruePositionOfABadIDPastNullEntries(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Svc", "1")
	createMetric(t, tx, OwnerService, svc.ID, 0, "Bytes")
	home := tx.Result()

	d := Export(home, true, testNow)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var doc Document
	require.NoError(t, json.Unmarshal(b, &doc))
	bad := *doc.Metrics[len(doc.Metrics)-1]
	bad.ID = 0
	bad.SystemName, bad.FriendlyName = "other", "Other"
	// Two nulls before the bad entry: it is metrics[n+2] of the list as
	// written, where n entries precede it.
	n := len(doc.Metrics)
	doc.Metrics = append(append([]*Metric{nil}, doc.Metrics...), nil, &bad)

	for name, importer := range map[string]func(*Tx, *Document) (*ImportStats, error){
		"Import": Import, "ImportByName": ImportByName,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := importer(NewTx(New(), testNow), &doc)
			ve := requireField(t, err, "id")
			require.Contains(t, ve.Error(), "metrics["+strconv.Itoa(n+2)+"] has id 0", "the position counts the null entries")
		})
	}
}
