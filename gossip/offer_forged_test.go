package gossip

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An announcement names its holder, and any member may relay one: a
// document rebuilt from an announced delta that Accept refuses is skipped,
// and the member it names is not refused for it. Else one forged
// announcement naming an honest holder, with a delta to a genuine old view
// under the top revision, would shut that holder out for good.
func TestForgedAnnouncedDeltaDoesNotShutOutTheHolderItNames(t *testing.T) {
	doc5, doc6 := testDoc(t, 5, 2000), testDoc(t, 6, 2000)
	signed := func(doc []byte) bool { return string(doc) == string(doc5) || string(doc) == string(doc6) }
	accept := func(c *Config) {
		c.Accept = func(rev uint64, doc []byte) error {
			var head struct{ Revision uint64 }
			if !signed(doc) || json.Unmarshal(doc, &head) != nil || head.Revision != rev {
				return fmt.Errorf("bad signature")
			}
			return nil
		}
	}
	h := startNode(t, "honest", time.Second, accept)
	h.src.set(5, doc5)
	v := startNode(t, "victim", 5*time.Second, withJoin(h.Addr()), accept)
	v.src.set(5, doc5)
	waitMembers(t, []*tnode{h, v}, 2)

	// As relayed by another member: the honest holder named, with a delta
	// rebuilding the genuine revision 5 as the top revision.
	delegate{v.Node}.NotifyMsg(announce{Revision: math.MaxUint64, Holder: "honest", Base: 5, Delta: makeDelta(doc5, doc5)}.encode())
	time.Sleep(500 * time.Millisecond)
	v.dis.mu.Lock()
	refused := v.dis.refused["honest"]
	v.dis.mu.Unlock()
	require.Zero(t, refused, "the honest holder is refused on a forged announcement's word")

	h.src.set(6, doc6)
	require.NoError(t, h.Announce(6))
	require.Eventually(t, func() bool { return v.hasRev(6) }, 5*time.Second, 20*time.Millisecond,
		"the honest holder's revision 6 should reach the victim")
}
