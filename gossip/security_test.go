package gossip

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func key(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// neverSees checks, for a while, that none of nodes lists or reports name.
func neverSees(t *testing.T, nodes []*tnode, name string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			require.NotContains(t, n.memberNames(), name, "%s lists %s", n.Name(), name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range nodes {
		for _, e := range n.seenEvents() {
			require.NotEqual(t, name, e.Node.Name, "%s got event %s for %s", n.Name(), e.Kind, name)
		}
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	t.Parallel()
	good := key(1, 32)
	// One label for all, so that only the keys differ.
	label := withCluster("enc")
	nodes := cluster(t, "enc", 2, withKeys(good), label)

	t.Run("wrong key", func(t *testing.T) {
		bad := startNode(t, "enc-wrong", time.Second, label, withKeys(key(2, 32)), withJoin(nodes[0].Addr(), nodes[1].Addr()))
		assert.Equal(t, []string{"enc-wrong"}, bad.memberNames(), "the node with the wrong key joined nobody")
		neverSees(t, nodes, "enc-wrong", 1500*time.Millisecond)
		assert.Equal(t, []string{"enc-wrong"}, bad.memberNames())
	})
	t.Run("no key", func(t *testing.T) {
		plain := startNode(t, "enc-plain", time.Second, label, withJoin(nodes[0].Addr()))
		assert.Equal(t, []string{"enc-plain"}, plain.memberNames())
		neverSees(t, nodes, "enc-plain", time.Second)
	})
	t.Run("right key, other length", func(t *testing.T) {
		// AES-128 with the first 16 bytes of the AES-256 key is another key.
		other := startNode(t, "enc-short", time.Second, label, withKeys(good[:16]), withJoin(nodes[0].Addr()))
		assert.Equal(t, []string{"enc-short"}, other.memberNames())
		neverSees(t, nodes, "enc-short", time.Second)
	})
	waitMembers(t, nodes, 2)

	// The same node with the right key does join.
	right := startNode(t, "enc-right", 3*time.Second, label, withKeys(good), withJoin(nodes[0].Addr()))
	waitMembers(t, append(nodes, right), 3)
}

// talks returns "" when a node with keys b can join a node with keys a and
// stay a member on both sides for a while (probes and gossip both ways) and
// fetch a document from it; otherwise what went wrong.
func talks(t *testing.T, name string, a, b [][]byte) string {
	t.Helper()
	na := startNode(t, name+"-a", time.Second, withKeys(a...))
	nb := startNode(t, name+"-b", 1500*time.Millisecond, withKeys(b...), withJoin(na.Addr()))
	// The joined side merges the joiner's state just after answering it.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && (len(na.Members()) != 2 || len(nb.Members()) != 2) {
		time.Sleep(10 * time.Millisecond)
	}
	deadline = time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if ma, mb := na.memberNames(), nb.memberNames(); len(ma) != 2 || len(mb) != 2 {
			return fmt.Sprintf("members: a sees %v, b sees %v", ma, mb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The TCP document path works too.
	doc := testDoc(t, 3, 4<<10)
	na.src.set(3, doc)
	if err := na.Announce(3); err != nil {
		return err.Error()
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := nb.got(); len(got) == 1 {
			if got[0].rev != 3 || !bytes.Equal(got[0].doc, doc) {
				return "fetched the wrong document"
			}
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "no document fetched"
}

// Rotation as memberlist implements it: Keys[0] encrypts, every key decrypts.
// So a new key is first installed everywhere as a secondary key, then made
// primary, then the old one is removed; at every step neighbours talk.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	oldK, newK := key(0x0a, 32), key(0x0b, 16)
	steps := []struct {
		name string
		a, b [][]byte
	}{
		{"new installed as secondary, talks to old only", [][]byte{oldK}, [][]byte{oldK, newK}},
		{"new primary, talks to new secondary", [][]byte{oldK, newK}, [][]byte{newK, oldK}},
		{"new primary, talks to new primary", [][]byte{newK, oldK}, [][]byte{newK, oldK}},
		{"old removed, talks to new primary with old", [][]byte{newK, oldK}, [][]byte{newK}},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			assert.Empty(t, talks(t, "rot"+string(rune('a'+i)), s.a, s.b))
		})
	}
	// Skipping a step does not work: a node whose primary is the new key
	// sends what a node knowing only the old key cannot read.
	t.Run("new primary cannot talk to old only", func(t *testing.T) {
		t.Parallel()
		assert.Contains(t, talks(t, "rotx", [][]byte{oldK}, [][]byte{newK, oldK}), "members: a sees [rotx-a], b sees [rotx-b]")
	})
}

func TestClustersStayApart(t *testing.T) {
	t.Parallel()
	blue := cluster(t, "blue", 2, withCluster("blue"))
	green := []*tnode{startNode(t, "green-0", time.Second, withCluster("green"), withJoin(blue[0].Addr(), blue[1].Addr()))}
	green = append(green, startNode(t, "green-1", 3*time.Second, withCluster("green"), withJoin(blue[1].Addr(), green[0].Addr())))
	unlabeled := startNode(t, "plain-0", time.Second, withCluster(""), withJoin(blue[0].Addr()))
	// Blue nodes told to join green and the unlabeled node get nowhere either.
	_, err := blue[1].ml().Join([]string{green[0].Addr(), unlabeled.Addr()})
	require.Error(t, err)

	waitMembers(t, green, 2)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, n := range blue {
			require.Equal(t, []string{"blue-0", "blue-1"}, n.memberNames())
		}
		for _, n := range green {
			require.Equal(t, []string{"green-0", "green-1"}, n.memberNames())
		}
		require.Equal(t, []string{"plain-0"}, unlabeled.memberNames())
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range slices.Concat(blue, green) {
		for _, e := range n.seenEvents() {
			assert.Equal(t, n.Name()[:len(n.Name())-2], e.Node.Name[:len(e.Node.Name)-2], "%s saw %s", n.Name(), e.Node.Name)
		}
	}
}
