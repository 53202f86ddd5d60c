package consulstore_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/testenv"
)

// A prefix may hold any printable character (README, Consul: only empty
// segments, ".", ".." and characters that are not printable are refused),
// and Consul's client sends a transaction as JSON with Go's HTML escaping
// (consul/api encodeBody: json.NewEncoder), where "<", ">" and "&" in a key
// take six bytes each. The store's bound on a transaction's body must count
// the keys as sent: an entity the store (and a dry run) takes as fitting
// Consul's txn_max_req_len is written, not refused by Consul with 413
// ("Request body too large") at the commit.
func TestEntityJustUnderTheLimitIsWrittenUnderAPrefixJSONEscapes(t *testing.T) {
	cl := newClient(t, testenv.StartConsul(t))
	s, err := consulstore.Open(context.Background(), consulstore.Config{Client: cl,
		Prefix: strings.Repeat("<r&d>", 30) + "/", Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	doc := func(n int) func(*composition.Tx) error {
		body := `{"openapi":"3.0.0","info":{"title":"Big","version":"1","description":"` + strings.Repeat("a", n) + `"},"paths":{}}`
		return func(tx *composition.Tx) error { return tx.Create(&composition.ActiveDoc{Name: "Big", Body: body}) }
	}
	fits := func(n int) bool {
		tx := composition.NewTx(s.Snapshot(), time.Now())
		require.NoError(t, doc(n)(tx))
		return s.CheckCommit(tx.Changes(), tx.Result()) == nil
	}
	// The largest description the store takes: the Consul store's limit.
	n := sort.Search(512<<10, func(n int) bool { return !fits(n) }) - 1
	require.Greater(t, n, 300<<10, "the limit found")

	_, err = s.Update(context.Background(), doc(n))
	require.NoError(t, err, "an ActiveDoc the store takes as fitting one Consul transaction (description of %d bytes) is refused at the commit", n)
	docs := 0
	s.Snapshot().Each(composition.KindActiveDoc, func(composition.Entity) { docs++ })
	require.Equal(t, 1, docs)
}
