package gossip

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync/atomic"
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

// Announcements naming holders that are not live members neither grow the node's state nor get relayed.
func TestAnnouncementsNamingNonMembersAreIgnored(t *testing.T) {
	n := startNode(t, "victim", time.Second)
	d := delegate{n.Node}
	for i := range 20000 {
		holder := fmt.Sprintf("ghost-%d-%0900d", i, 0) // ~1 KB names
		d.NotifyMsg(announce{Revision: uint64(i + 1), Holder: holder}.encode())
	}
	n.dis.mu.Lock()
	have, refused := len(n.dis.have), len(n.dis.refused)
	n.dis.mu.Unlock()
	members := len(n.Members())
	assert.LessOrEqual(t, have, 16*members, "have map holds %d holders for %d members: it grows without bound from announcements (refused: %d)", have, members, refused)
	assert.Zero(t, n.broadcasts.NumQueued(), "announcements naming non-members are not relayed")
}

// A forged top revision, naming a non-member or a member, does not stop the node relaying other holders' real revisions.
func TestForgedTopRevisionDoesNotStopRelay(t *testing.T) {
	nodes := cluster(t, "relay", 3)
	n, framed, holder := nodes[0], nodes[1], nodes[2]
	d := delegate{n.Node}
	d.NotifyMsg(announce{Revision: math.MaxUint64, Holder: "nobody"}.encode())
	d.NotifyMsg(announce{Revision: math.MaxUint64, Holder: framed.Name()}.encode())
	n.broadcasts.Prune(0) // the forged ones went out
	// A genuine announcement of a revision the node does not have.
	d.NotifyMsg(announce{Revision: 7, Holder: holder.Name()}.encode())
	require.Equal(t, 1, n.broadcasts.NumQueued(), "revision 7, newer than anything the node holds, is relayed")
}

// slowSeal is a KeyEnvelope whose Seal takes a while: a busy or distant
// holder.
type slowSeal struct{ *KeyEnvelope }

func (s slowSeal) Seal(p, src []byte) ([]byte, error) {
	time.Sleep(300 * time.Millisecond)
	return s.KeyEnvelope.Seal(p, src)
}

// Responses sprayed by a keyring holder at requests it never saw do not get the holder asked shut out.
func TestForgedResponsesDoNotShutOutTheHolderAsked(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	env, err := NewKeyEnvelope(key)
	require.NoError(t, err)
	doc5 := testDoc(t, 5, 2000)

	h := startNode(t, "honest", time.Second, func(c *Config) { c.Envelope = slowSeal{env} })
	vsrc := &memSource{}
	v := startNode(t, "victim", 5*time.Second, withJoin(h.Addr()), func(c *Config) {
		c.Source = vsrc
		c.Envelope = env
		c.OnComposition = func(rev uint64, doc []byte) { vsrc.set(rev, doc) }
	})
	r := startNode(t, "other-service", 5*time.Second, withJoin(h.Addr()))
	waitMembers(t, []*tnode{h, v, r}, 3)

	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // the forger sprays answers to requests it cannot see
		defer close(done)
		p, ok := r.Node.events.peer("victim")
		require.True(t, ok)
		for !stop.Load() {
			for id := uint64(1); id <= 4; id++ {
				_ = r.ml().SendBestEffort(p.node(), response{ID: id, Revision: math.MaxUint64, Doc: []byte("junk")}.encode())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	h.src.set(5, doc5)
	require.NoError(t, h.Announce(5))
	time.Sleep(time.Second)
	stop.Store(true)
	<-done

	require.NoError(t, h.Announce(5))
	ok := assert.Eventually(t, func() bool { rev, _ := vsrc.Latest(); return rev == 5 }, 4*time.Second, 20*time.Millisecond,
		"the honest holder's revision 5 never reaches the victim once a forged answer blamed it")
	if !ok {
		v.dis.mu.Lock()
		t.Logf("victim's refused holders: %v", v.dis.refused)
		v.dis.mu.Unlock()
	}
}

// A document request is answered only to a live member, at its own address, never at the address the request names.
func TestDocumentRequestIsAnsweredOnlyToAMember(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var got atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { n, _ := io.Copy(io.Discard, c); got.Add(n); c.Close() }()
		}
	}()

	raw := make([]byte, 600<<10)
	_, _ = rand.Read(raw)
	doc := []byte(`{"x":"` + base64.StdEncoding.EncodeToString(raw) + `"}`)
	ring := bytes.Repeat([]byte{5}, 32) // the cluster's keyring, which every agent holds
	v := startNode(t, "victim", time.Second, withKeys(ring))
	v.src.set(3, doc)
	r := startNode(t, "rogue", 5*time.Second, withKeys(ring), withJoin(v.Addr()))
	waitMembers(t, []*tnode{v, r}, 2)
	p, ok := r.Node.events.peer("victim")
	require.True(t, ok)
	for i := range 5 {
		msg := request{ID: uint64(i + 1), Want: 1, From: "somebody", Addr: ln.Addr().String()}.encode()
		require.NoError(t, r.ml().SendReliable(p.node(), msg))
	}
	time.Sleep(2 * time.Second)
	assert.Zero(t, got.Load(), "the victim sent %d bytes to %s, an address no member has, on a %d-byte request", got.Load(), ln.Addr(),
		len(request{ID: 1, Want: 1, From: "somebody", Addr: ln.Addr().String()}.encode()))
}
