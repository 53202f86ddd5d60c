package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// replyLost posts to home through a real client, and loses home's reply to
// the batch with id: home applied it, the reporter hears an error, as when
// the connection drops after home answered.
type replyLost struct {
	home Reporter
	id   string
}

func (r replyLost) PostUsage(ctx context.Context, b *registry.UsageBatch) (*registry.UsageReply, error) {
	reply, err := r.home.PostUsage(ctx, b)
	if err == nil && b.ID == r.id {
		return nil, errors.New("connection reset after home answered")
	}
	return reply, err
}

// rotationHome is a coordinator with service rot, a metric calls and an
// application; it returns the coordinator, the admin client, the service,
// metric and application ids.
func rotationHome(t *testing.T) (*testenv.Coordinator, *client.Client, int64, int64, int64) {
	t.Helper()
	co := testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	svc := num(co.Create(t, "/admin/api/services.json", "name=Rot&system_name=rot"))
	metric := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
	plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=P"))
	co.Create(t, fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, metric), "period=eternity&value=1000000")
	acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=Org&username=rot&email=rot@example.com&password=s3cret-pass&application_plan_id=%d", plan)))
	app := num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=rot&plan_id=%d", plan)))
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	return co, admin, svc, metric, app
}

// incarnation opens the ledger of one agent incarnation on the cache dir
// dir and registers its instance with the join token tok ("" for the
// bootstrap token, then the ledger is told no token: an older agent).
func incarnation(t *testing.T, co *testenv.Coordinator, dir, instance string, svc int64, tok *registry.JoinTokenCreated) (*Ledger, *client.Client) {
	t.Helper()
	l, err := New(dir, instance, func() int64 { return svc }, zerolog.Nop())
	require.NoError(t, err)
	home := co.Home(t)
	if tok != nil {
		l.SendsWith(tok.ID)
		home, err = client.New(client.Config{Address: co.URL, Token: tok.Token})
		require.NoError(t, err)
	}
	_, err = home.Register(context.Background(), instance, &registry.Registration{Service: "rot", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	return l, home
}

// Home applies a batch id once within the join token its sender registered
// with. An operator rotates the token (a new one made, the old revoked)
// while an agent's spool holds a batch home applied but whose reply was
// lost: the next incarnation on the same cache dir, registered with the
// new token, sends it again, and home must not count it twice; nor after a
// second rotation, for a batch first applied with the second token. The
// spool records each token a batch is sent with before it sends it.
func TestBatchSentAgainAfterATokenRotationCountsOnce(t *testing.T) {
	co, admin, svc, metric, app := rotationHome(t)
	ctx := context.Background()
	mint := func() *registry.JoinTokenCreated {
		tok, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: "rot"})
		require.NoError(t, err)
		return tok
	}
	dir := t.TempDir()
	now := time.Now()
	calls := func(n int64) []composition.Hit { return []composition.Hit{{MetricID: metric, Delta: n}} }

	// Token A: two batches cut; home applies the first and its reply is
	// lost; the agent stops before the second is sent.
	a := mint()
	l1, home1 := incarnation(t, co, dir, "rot-one", svc, a)
	require.NoError(t, l1.Admit(app, calls(5), now, admitAny))
	l1.cut()
	require.NoError(t, l1.Admit(app, calls(7), now, admitAny))
	l1.cut()
	require.True(t, l1.persistAll())
	first, second := l1.spool[0].batch.ID, l1.spool[1].batch.ID
	require.Error(t, l1.flush(ctx, replyLost{home1, first}))
	require.EqualValues(t, 5, statsTotal(t, co, app, "calls"))

	// A rotated to B. The next incarnation sends both: the first is home's
	// already; the second is applied with B, and that reply is lost too.
	b := mint()
	require.NoError(t, admin.RevokeJoinToken(ctx, a.ID))
	l2, home2 := incarnation(t, co, dir, "rot-two", svc, b)
	require.Equal(t, 2, l2.spooled(), "the spool of the incarnation before")
	require.Error(t, l2.flush(ctx, replyLost{home2, second}))
	assert.EqualValues(t, 12, statsTotal(t, co, app, "calls"), "the first batch is counted once, the second once")
	kept, err := os.ReadFile(filepath.Join(dir, usageDir, seqName(l2.spool[0].seq)+batchSuffix))
	require.NoError(t, err)
	var onDisk registry.UsageBatch
	require.NoError(t, json.Unmarshal(kept, &onDisk))
	assert.Equal(t, second, onDisk.ID)
	assert.Equal(t, []string{a.ID, b.ID}, onDisk.SentWith, "the spool file names B before the batch is sent with it")

	// B rotated to C: the second batch, sent a third time, is still
	// counted once.
	c := mint()
	require.NoError(t, admin.RevokeJoinToken(ctx, b.ID))
	l3, home3 := incarnation(t, co, dir, "rot-three", svc, c)
	require.NoError(t, l3.flush(ctx, home3))
	assert.Equal(t, 0, l3.spooled())
	assert.EqualValues(t, 12, statsTotal(t, co, app, "calls"), "5 and 7, each once")
}

// A batch an older agent spooled (it names no token) may have been applied
// by a home that kept every batch id in the bootstrap token's space, as
// homes did before join tokens had spaces of their own. Sent again by an
// agent registered with a join token, it is counted once.
func TestBatchOfAnOlderAgentSentAgainWithAJoinTokenCountsOnce(t *testing.T) {
	co, admin, svc, metric, app := rotationHome(t)
	ctx := context.Background()
	dir := t.TempDir()
	old, bootstrap := incarnation(t, co, dir, "rot-old", svc, nil)
	require.NoError(t, old.Admit(app, []composition.Hit{{MetricID: metric, Delta: 4}}, time.Now(), admitAny))
	old.cut()
	require.True(t, old.persistAll())
	require.Empty(t, old.spool[0].batch.SentWith, "an older agent names no token")
	require.Error(t, old.flush(ctx, replyLost{bootstrap, old.spool[0].batch.ID}))
	require.EqualValues(t, 4, statsTotal(t, co, app, "calls"))

	tok, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: "rot"})
	require.NoError(t, err)
	l, home := incarnation(t, co, dir, "rot-new", svc, tok)
	require.NoError(t, l.flush(ctx, home))
	assert.Equal(t, 0, l.spooled())
	assert.EqualValues(t, 4, statsTotal(t, co, app, "calls"), "counted once")
}
