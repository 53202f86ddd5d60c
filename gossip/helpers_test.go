package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// testLogger is silent unless GOSSIP_TEST_LOG is set.
func testLogger() zerolog.Logger {
	if os.Getenv("GOSSIP_TEST_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}).With().Timestamp().Logger()
}

// fastProbes shortens failure detection so tests see dead nodes in seconds;
// gossip keeps memberlist's LAN interval and fanout.
func fastProbes(c *memberlist.Config) {
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 150 * time.Millisecond
	c.SuspicionMult = 3
	c.TCPTimeout = 2 * time.Second
}

// memSource is a Source in memory; OnComposition stores into it, as an agent
// installs a fetched snapshot.
type memSource struct {
	mu  sync.Mutex
	rev uint64
	doc []byte
}

func (s *memSource) Latest() (uint64, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev, s.doc
}

func (s *memSource) set(rev uint64, doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev, s.doc = rev, doc
}

type delivery struct {
	rev uint64
	doc []byte
	at  time.Time
}

// tnode is a node under test with what it received.
type tnode struct {
	*Node
	src *memSource

	mu         sync.Mutex
	deliveries []delivery
	events     []Event
}

func (t *tnode) got() []delivery {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.deliveries)
}

func (t *tnode) seenEvents() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.events)
}

func (t *tnode) memberNames() []string {
	var names []string
	for _, m := range t.Members() {
		names = append(names, m.Name)
	}
	return names
}

// hasRev reports whether the node's source reached rev.
func (t *tnode) hasRev(rev uint64) bool {
	r, _ := t.src.Latest()
	return r >= rev
}

// opt adjusts a test node's configuration.
type opt func(*Config)

// withKeys encrypts the node's gossip; without it a test node is insecure.
func withKeys(keys ...[]byte) opt {
	return func(c *Config) { c.Keys, c.Insecure = keys, len(keys) == 0 }
}
func withCluster(name string) opt  { return func(c *Config) { c.Cluster = name } }
func withJoin(addrs ...string) opt { return func(c *Config) { c.Join = addrs } }
func withPushPull(d time.Duration) opt {
	return func(c *Config) { c.PushPull = d }
}

// startNode starts a node on a free loopback port and shuts it down at the
// end of the test. joinWait bounds Start's join attempts.
func startNode(t testing.TB, name string, joinWait time.Duration, opts ...opt) *tnode {
	t.Helper()
	tn := &tnode{src: &memSource{}}
	cfg := Config{
		Name:   name,
		Bind:   "127.0.0.1:0",
		Meta:   Meta{Role: RoleAgent, Service: "news", InstanceID: name, API: "127.0.0.1:7071"},
		Source: tn.src,
		OnComposition: func(rev uint64, doc []byte) {
			tn.mu.Lock()
			tn.deliveries = append(tn.deliveries, delivery{rev: rev, doc: doc, at: time.Now()})
			tn.mu.Unlock()
			tn.src.set(rev, doc)
		},
		OnMember: func(e Event) {
			tn.mu.Lock()
			tn.events = append(tn.events, e)
			tn.mu.Unlock()
		},
		Logger: testLogger().With().Str("test_node", name).Logger(),
		tune:   fastProbes,
		// A label per test: a port one test frees and another binds must not
		// merge their clusters.
		Cluster:  t.Name(),
		Insecure: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinWait)
	defer cancel()
	n, err := Start(ctx, cfg)
	require.NoError(t, err)
	tn.Node = n
	t.Cleanup(func() { _ = n.Shutdown() })
	return tn
}

// cluster starts k nodes, each joining the first, and waits until every node
// sees all of them.
func cluster(t testing.TB, prefix string, k int, opts ...opt) []*tnode {
	t.Helper()
	nodes := []*tnode{startNode(t, prefix+"-0", time.Second, opts...)}
	for i := 1; i < k; i++ {
		o := append(slices.Clone(opts), withJoin(nodes[0].Addr()))
		nodes = append(nodes, startNode(t, fmt.Sprintf("%s-%d", prefix, i), 5*time.Second, o...))
	}
	waitMembers(t, nodes, k)
	return nodes
}

func waitMembers(t testing.TB, nodes []*tnode, k int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			if len(n.Members()) != k {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "every node should see %d members", k)
}

// testDoc is a composition-like JSON document of about size bytes.
func testDoc(t testing.TB, rev uint64, size int) []byte {
	t.Helper()
	type rule struct {
		ID      int    `json:"id"`
		Method  string `json:"http_method"`
		Pattern string `json:"pattern"`
		Metric  int    `json:"metric_id"`
		Delta   int    `json:"delta"`
	}
	doc := struct {
		Format   string `json:"format"`
		Revision uint64 `json:"revision"`
		Rules    []rule `json:"mapping_rules"`
	}{Format: "portolan.composition/v1", Revision: rev}
	for i := 0; ; i++ {
		doc.Rules = append(doc.Rules, rule{ID: i + 1, Method: "GET", Pattern: fmt.Sprintf("/v%d/articles/{id}/comments/%d", rev, i*7919%100003), Metric: i%37 + 1, Delta: 1})
		if i%64 == 0 {
			b, err := json.Marshal(doc)
			require.NoError(t, err)
			if len(b) >= size {
				return b
			}
		}
	}
}
