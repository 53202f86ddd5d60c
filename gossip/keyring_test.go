package gossip

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mlNode is the memberlist address of a node, for sending to it directly.
func mlNode(t *testing.T, name, addr string) *memberlist.Node {
	t.Helper()
	host, ps, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(ps)
	require.NoError(t, err)
	return &memberlist.Node{Name: name, Addr: net.ParseIP(host), Port: uint16(port)}
}

// The attack of issue 13: a node without the cluster's key, holding a forged
// composition at a much higher revision, joins, announces it, pushes it
// straight at every member and asks them for theirs. Nobody lists it, nobody
// takes its document, and it receives neither a member nor a document.
func TestNodeWithoutTheKeyLearnsNothingAndInjectsNothing(t *testing.T) {
	t.Parallel()
	good := key(7, 32)
	label := withCluster("keyed")
	nodes := cluster(t, "keyed", 3, label, withKeys(good))
	doc := testDoc(t, 5, 8<<10)
	for _, n := range nodes {
		n.src.set(5, doc)
	}

	attackers := map[string]opt{
		"nokey":    withKeys(),                      // plain memberlist, as today's default
		"wrongkey": withKeys(key(8, 32)),            // a key of its own
		"oldkey":   withKeys(key(7, 16)),            // a prefix of the right key
		"addkey":   withKeys(key(8, 32), good[:24]), // the right key truncated, as a secondary
	}
	var bad []*tnode
	for name, keys := range attackers {
		a := startNode(t, "evil-"+name, 500*time.Millisecond, label, keys, withJoin(nodes[0].Addr(), nodes[1].Addr()))
		forged := []byte(`{"format":"portolan.composition/v1","revision":999999,"forged":true}`)
		a.src.set(999999, forged)
		require.NoError(t, a.Announce(999999))
		for _, n := range nodes {
			to := mlNode(t, n.Name(), n.Addr())
			ann := announce{Revision: 999999, Holder: a.Name()}.encode()
			_ = a.ml().SendBestEffort(to, ann)
			_ = a.ml().SendReliable(to, ann)
			_ = a.ml().SendReliable(to, request{ID: 1, Want: 1, From: a.Name(), Addr: a.Addr()}.encode())
		}
		bad = append(bad, a)
	}

	deadline := time.Now().Add(3 * time.Second) // fifteen gossip rounds, three push/pull-free probes
	for time.Now().Before(deadline) {
		for _, a := range bad {
			require.Equal(t, []string{a.Name()}, a.memberNames(), "%s learned a member", a.Name())
			require.Empty(t, a.got(), "%s received a document", a.Name())
		}
		for _, n := range nodes {
			require.Len(t, n.Members(), 3, "%s lists an attacker: %v", n.Name(), n.memberNames())
			require.Empty(t, n.got(), "%s took a document", n.Name())
			rev, d := n.src.Latest()
			require.Equal(t, uint64(5), rev)
			require.True(t, bytes.Equal(doc, d))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range nodes {
		for _, e := range n.seenEvents() {
			assert.True(t, strings.HasPrefix(e.Node.Name, "keyed-"), "%s saw %s", n.Name(), e.Node.Name)
		}
	}
}

// A running cluster rotates its key with SetKeys, in memberlist's three steps,
// without a restart and without losing a member; a node left on the old key
// alone is cut off once the others drop it, and a new node with only the old
// key cannot join.
func TestSetKeysRotatesARunningCluster(t *testing.T) {
	t.Parallel()
	oldK, newK := key(0x21, 32), key(0x22, 32)
	label := withCluster("live")
	nodes := cluster(t, "live", 3, label, withKeys(oldK))
	laggard := startNode(t, "live-old", 3*time.Second, label, withKeys(oldK), withJoin(nodes[0].Addr()))
	waitMembers(t, append(nodes, laggard), 4)

	// Adding the new key keeps everyone, the laggard included: it still
	// reads the old key, which the others still encrypt with.
	for _, n := range nodes {
		require.NoError(t, n.SetKeys([][]byte{oldK, newK}))
		assert.Equal(t, [][]byte{oldK, newK}, n.Keys())
	}
	stays(t, append(nodes, laggard), 4, time.Second)
	// Once the others encrypt with the new key the laggard cannot read their
	// probes, so it may drop out from here on (a real agent that missed the
	// first step is cut off too); the keyed nodes keep one another.
	for _, n := range nodes {
		require.NoError(t, n.SetKeys([][]byte{newK, oldK}))
		assert.Equal(t, [][]byte{newK, oldK}, n.Keys())
	}
	for _, n := range nodes {
		require.NoError(t, n.SetKeys([][]byte{newK}))
	}
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			if len(n.Members()) != 3 {
				return false
			}
		}
		return len(laggard.Members()) == 1
	}, 10*time.Second, 20*time.Millisecond, "the node with the old key only is cut off")

	// A document announced now reaches the keyed nodes, not the laggard.
	doc := testDoc(t, 9, 4<<10)
	nodes[0].src.set(9, doc)
	require.NoError(t, nodes[0].Announce(9))
	require.Eventually(t, func() bool { return nodes[1].hasRev(9) && nodes[2].hasRev(9) }, 10*time.Second, 20*time.Millisecond)
	assert.Empty(t, laggard.got(), "the laggard fetched nothing")

	late := startNode(t, "live-late", time.Second, label, withKeys(oldK), withJoin(nodes[0].Addr()))
	assert.Equal(t, []string{"live-late"}, late.memberNames())
	stays(t, nodes, 3, time.Second)
}

// stays checks that every node keeps seeing k members for d.
func stays(t *testing.T, nodes []*tnode, k int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			require.Len(t, n.Members(), k, "%s sees %v", n.Name(), n.memberNames())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSetKeysIsChecked(t *testing.T) {
	t.Parallel()
	plain := startNode(t, "plain", time.Second)
	assert.ErrorContains(t, plain.SetKeys([][]byte{key(1, 32)}), "runs without encryption")
	assert.Nil(t, plain.Keys())

	n := startNode(t, "keyed", time.Second, withKeys(key(1, 32)))
	assert.ErrorContains(t, n.SetKeys(nil), "empty keyring")
	assert.ErrorContains(t, n.SetKeys([][]byte{key(2, 32), key(3, 7)}), "key 2 of 2: gossip key is 7 bytes")
	assert.Equal(t, [][]byte{key(1, 32)}, n.Keys(), "a refused keyring changes nothing")
	require.NoError(t, n.SetKeys([][]byte{key(2, 16), key(1, 32)}))
	assert.Equal(t, [][]byte{key(2, 16), key(1, 32)}, n.Keys())
}

// syncBuf is a log sink safe for the node's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInsecureNodeWarnsAtStartAndAgain(t *testing.T) {
	t.Parallel()
	var out syncBuf
	startNode(t, "open", time.Second, func(c *Config) {
		c.Logger = zerolog.New(&out)
		c.insecureWarnEvery = 100 * time.Millisecond
	})
	require.Contains(t, out.String(), "WITHOUT encryption", "warned at start")
	require.Eventually(t, func() bool { return strings.Count(out.String(), "WITHOUT encryption") >= 3 },
		5*time.Second, 20*time.Millisecond, "and again every interval")

	var keyed syncBuf
	startNode(t, "closed", time.Second, withKeys(key(1, 32)), func(c *Config) { c.Logger = zerolog.New(&keyed) })
	assert.NotContains(t, keyed.String(), "WITHOUT encryption")
	assert.Contains(t, keyed.String(), `"encrypted":true`)
}
