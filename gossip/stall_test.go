package gossip

import (
	"math"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"
)

// muteDelegate drops document requests: a member that claims revisions and
// never serves them.
type muteDelegate struct{ memberlist.Delegate }

func (m muteDelegate) NotifyMsg(msg []byte) {
	if kind, _, err := messageKind(msg); err == nil && kind == kindRequest {
		return
	}
	m.Delegate.NotifyMsg(msg)
}

// withFetchWait shortens how long a node waits for a document it asked for.
func withFetchWait(d time.Duration) opt { return func(c *Config) { c.fetchWait = d } }

// A member that claims the top revision and never serves it does not hold
// back the real revisions below its claim: the node passes over a holder
// that did not deliver, for a while, and takes the newest another serves.
func TestHolderThatNeverServesItsClaimDoesNotHoldBackNewerRevisions(t *testing.T) {
	doc5, doc6 := testDoc(t, 5, 4000), testDoc(t, 6, 4000)
	h := startNode(t, "honest", time.Second)
	h.src.set(5, doc5)
	v := startNode(t, "victim", 5*time.Second, withJoin(h.Addr()), withFetchWait(time.Second))
	v.src.set(5, doc5)
	r := startNode(t, "rogue", 5*time.Second, withJoin(h.Addr()), func(c *Config) {
		prev := c.tune
		c.tune = func(mc *memberlist.Config) { prev(mc); mc.Delegate = muteDelegate{mc.Delegate} }
	})
	waitMembers(t, []*tnode{h, v, r}, 3)

	r.src.set(math.MaxUint64, []byte(`{"forged":true}`))
	require.NoError(t, r.Announce(math.MaxUint64))
	time.Sleep(300 * time.Millisecond)
	h.src.set(6, doc6)
	require.NoError(t, h.Announce(6))
	require.Eventually(t, func() bool { return v.hasRev(6) }, 5*time.Second, 20*time.Millisecond,
		"revision 6 should reach the victim though the rogue claims revision %d and never serves it", uint64(math.MaxUint64))
	require.NoError(t, r.Announce(math.MaxUint64)) // it says so again: still passed over
	h.src.set(7, testDoc(t, 7, 4000))
	require.NoError(t, h.Announce(7))
	require.Eventually(t, func() bool { return v.hasRev(7) }, 3*time.Second, 20*time.Millisecond,
		"revision 7 should follow without another wait on the rogue")
}

// What a holder is said to serve is anyone's to say: a member naming an
// honest holder at the top revision, again and again, does not keep the
// node from taking the honest holder's real newest revision from it.
func TestHolderNamedAtTheTopRevisionAgainAndAgainStillServesItsOwn(t *testing.T) {
	doc5, doc6 := testDoc(t, 5, 4000), testDoc(t, 6, 4000)
	h := startNode(t, "honest", time.Second)
	h.src.set(5, doc5)
	v := startNode(t, "victim", 5*time.Second, withJoin(h.Addr()))
	v.src.set(5, doc5)
	waitMembers(t, []*tnode{h, v}, 2)

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // as relayed to the victim by another member, many times a second
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			delegate{v.Node}.NotifyMsg(announce{Revision: math.MaxUint64, Holder: "honest"}.encode())
		}
	}()
	defer func() { close(stop); <-done }()
	h.src.set(6, doc6)
	require.NoError(t, h.Announce(6))
	require.Eventually(t, func() bool { return v.hasRev(6) }, 5*time.Second, 20*time.Millisecond,
		"revision 6 should reach the victim from the holder named at revision %d", uint64(math.MaxUint64))
}
