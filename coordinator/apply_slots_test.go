package coordinator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// answer is what an apply answered.
type answer struct {
	code int
	body string
}

// postApplyContext posts YAML docs to c's apply as a client whose request
// ends with ctx.
func postApplyContext(ctx context.Context, c *Coordinator, docs string) answer {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, registry.PathAdminApply+"?access_token="+fixtureToken, strings.NewReader(docs))
	r.Header.Set("Content-Type", "application/yaml")
	w := httptest.NewRecorder()
	c.applyHandler().ServeHTTP(w, r)
	return answer{w.Code, w.Body.String()}
}

// The decode slot bounds the memory of decoding, one set of documents at a
// time; hashing passwords is CPU and takes long (argon2id, tens of
// milliseconds each). An apply hashing a thousand passwords holds no other
// apply back: a second one is decoded and applied meanwhile. And the first,
// its client gone, stops hashing and writes nothing.
func TestApplyHashingHoldsNoOtherApplyBack(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\nusers:\n")
	for i := range 1000 { // tens of seconds of hashing at the least
		fmt.Fprintf(&b, "- {username: u%d, email: u%d@example.com, password: pass-%d}\n", i, i, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan answer, 1)
	go func() { first <- postApplyContext(ctx, c, b.String()) }()
	time.Sleep(time.Second) // the first is decoded (milliseconds), and hashing

	second := make(chan answer, 1)
	go func() {
		second <- postApplyContext(context.Background(), c, "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n")
	}()
	select {
	case got := <-second:
		require.Equal(t, http.StatusOK, got.code, got.body)
		assert.Contains(t, got.body, `"applied":true`)
	case got := <-first:
		t.Fatalf("the second apply waited for the first's hashing to end: the first answered first, %d %.200s", got.code, got.body)
	}

	cancel() // the first's client goes away
	got := <-first
	assert.NotEqual(t, http.StatusOK, got.code, got.body)
	_, written := c.store.Snapshot().Accounts.Find(func(a *composition.Account) bool { return a.OrgName == "ACME" })
	assert.False(t, written, "an apply whose client went away writes nothing")
}

// A decode that panics (net/http recovers the handler) still frees the
// slot: the next apply is not held back until its client gives up.
func TestDecodeSlotIsFreedWhenTheDecodePanics(t *testing.T) {
	c := &Coordinator{decodeSlots: newDecodeSlots()}
	assert.Panics(t, func() {
		_ = c.decodeInSlot(context.Background(), func() { panic("a decoder bug") })
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ran := false
	require.NoError(t, c.decodeInSlot(ctx, func() { ran = true }), "the slot was left taken")
	assert.True(t, ran)
}
