package gossip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// ErrShutdown is returned by a node's methods after Shutdown.
var ErrShutdown = errors.New("gossip: node is shut down")

// Join retries: Start backs off from joinRetryMin to joinRetryMax; a node
// left alone retries its Join list from rejoinMin up to rejoinMax.
const (
	joinRetryMin = 200 * time.Millisecond
	joinRetryMax = 5 * time.Second
	rejoinMin    = time.Second
	rejoinMax    = 30 * time.Second
)

// updateMetaTimeout bounds how long UpdateMeta waits for the update to go out.
const updateMetaTimeout = 5 * time.Second

// Node is a running member of a gossip cluster. Its methods are safe for
// concurrent use.
type Node struct {
	cfg        Config
	log        zerolog.Logger
	mlp        atomic.Pointer[memberlist.Memberlist]
	addr       string // advertised gossip address, set once Create returns
	broadcasts *memberlist.TransmitLimitedQueue
	events     *events
	alive      atomic.Int32 // live members, this node included (len of the events' table)
	streams    *streamCap   // memberlist's transport, its inbound streams bounded

	metaMu  sync.Mutex // serializes UpdateMeta
	metaVal atomic.Pointer[[]byte]

	dis dissemination

	kr     *memberlist.Keyring // nil on an insecure node
	keysMu sync.Mutex          // serializes SetKeys

	ops    sync.RWMutex // read: Leave, UpdateMeta; write: Shutdown (memberlist panics on Leave after Shutdown)
	life   sync.Mutex   // guards closed and wg.Add
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// Start creates a node listening on cfg.Bind and, when cfg.Join lists peers,
// joins them: it retries with backoff until one answers or ctx ends. When ctx
// ends first, the node runs alone (a warning is logged) and keeps retrying in
// the background, as it does whenever it finds itself alone later; pass a ctx
// with a deadline to bound the wait. Configuration errors, an oversized Meta
// and a port already in use fail Start.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	mc, err := cfg.memberlistConfig()
	if err != nil {
		return nil, err
	}
	meta, err := encodeMeta(cfg.Meta)
	if err != nil {
		return nil, err
	}
	maxMembers, err := cfg.maxMembers()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:  cfg,
		log:  cfg.Logger.With().Str("component", "gossip").Str("node", cfg.Name).Logger(),
		stop: make(chan struct{}),
	}
	n.metaVal.Store(&meta)
	n.kr = mc.Keyring
	n.dis.init()
	if rev, doc := n.source(); doc != nil {
		n.dis.plain = plainDoc{rev: rev, doc: doc} // the base of the first delta
	}
	n.events = newEvents(n, maxMembers)
	n.broadcasts = &memberlist.TransmitLimitedQueue{
		RetransmitMult: mc.RetransmitMult,
		NumNodes:       func() int { return max(1, int(n.alive.Load())) },
	}
	mc.Logger = newMemberlistLogger(n.log)
	mc.LogOutput = nil
	mc.Delegate = delegate{n}
	mc.Events = n.events
	mc.Conflict = n.events
	mc.Alive = n.events
	if cfg.tune != nil {
		cfg.tune(mc)
		n.broadcasts.RetransmitMult = mc.RetransmitMult
	}

	if mc.Transport == nil {
		nt, err := newNetTransport(mc)
		if err != nil {
			return nil, fmt.Errorf("gossip: start on %s: %w", mc.BindAddr, err)
		}
		mc.Transport = nt
	}
	capped := capStreams(mc.Transport.(memberlist.NodeAwareTransport), n.log)
	mc.Transport, n.streams = capped, capped

	n.goRun(func() { n.events.run(n.stop) })
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = capped.Shutdown()
		n.closeAndWait()
		return nil, fmt.Errorf("gossip: start on %s: %w", mc.BindAddr, err)
	}
	n.mlp.Store(ml)
	self, _ := n.events.peer(cfg.Name) // memberlist reports its own node's join in Create
	n.addr = self.Addr
	if cfg.Source != nil || cfg.OnComposition != nil { // home's node has no use for documents
		n.goRun(n.fetchLoop)
	}
	n.log.Info().Str("addr", n.Addr()).Str("cluster", cfg.Cluster).Bool("encrypted", n.kr != nil).Msg("gossip: started")
	if cfg.Insecure {
		n.warnInsecure()
		n.goRun(n.insecureLoop)
	}

	if len(cfg.Join) > 0 {
		if err := n.joinRetry(ctx); err != nil {
			n.log.Warn().Err(err).Strs("join", cfg.Join).Msg("gossip: running alone; still trying to join in the background")
		}
		n.goRun(n.rejoinLoop)
	}
	return n, nil
}

func (n *Node) ml() *memberlist.Memberlist { return n.mlp.Load() }

// goRun starts fn on a goroutine Shutdown waits for; false once shut down.
func (n *Node) goRun(fn func()) bool {
	n.life.Lock()
	defer n.life.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
	return true
}

func (n *Node) joinRetry(ctx context.Context) error {
	wait := joinRetryMin
	for {
		k, err := n.ml().Join(n.cfg.Join)
		if err == nil {
			n.log.Info().Int("contacted", k).Msg("gossip: joined")
			return nil
		}
		n.log.Debug().Err(err).Dur("retry_in", wait).Msg("gossip: join failed")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no peer of %s answered before %w: last error: %w", strings.Join(n.cfg.Join, ", "), ctx.Err(), err)
		case <-n.stop:
			t.Stop()
			return ErrShutdown
		case <-t.C:
		}
		wait = min(2*wait, joinRetryMax)
	}
}

// Name is the node's name (its instance id).
func (n *Node) Name() string { return n.cfg.Name }

// Addr is the gossip address ("IP:PORT") other nodes reach this one at: the
// advertised address, with the port actually bound when Bind asked for port 0.
func (n *Node) Addr() string { return n.addr }

// Members lists the live members (alive or suspected, not dead or left), this
// node included, by name.
func (n *Node) Members() []Member {
	live := n.events.live()
	out := make([]Member, 0, len(live))
	for _, p := range live {
		out = append(out, p.Member)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Meta is the node's current metadata.
func (n *Node) Meta() Meta {
	m, _, _ := decodeMeta(*n.metaVal.Load())
	return m
}

// UpdateMeta replaces the node's metadata and gossips the change. It refuses
// metadata that encodes to more than MaxMetaBytes. It waits up to 5 s for the
// update to go out to a peer; after that the update stays queued and nil is
// returned all the same.
func (n *Node) UpdateMeta(m Meta) error {
	b, err := encodeMeta(m)
	if err != nil {
		return err
	}
	n.ops.RLock()
	defer n.ops.RUnlock()
	if n.isClosed() {
		return ErrShutdown
	}
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	n.metaVal.Store(&b)
	if err := n.ml().UpdateNode(updateMetaTimeout); err != nil {
		n.log.Debug().Err(err).Msg("gossip: metadata update queued, not yet sent")
	}
	return nil
}

// Leave tells the cluster this node is leaving, waiting up to timeout for the
// news to go out; the others report Leave rather than Dead. It first flags
// the node's metadata as leaving (that is how peers tell the two apart; a
// Meta too close to MaxMetaBytes leaves no room for the flag, and peers then
// report Dead), then has memberlist announce the departure. Shutdown must
// still be called.
func (n *Node) Leave(timeout time.Duration) error {
	n.ops.RLock()
	defer n.ops.RUnlock()
	if n.isClosed() {
		return ErrShutdown
	}
	start := time.Now()
	n.metaMu.Lock()
	if b := encodeLeaving(n.Meta()); b != nil {
		n.metaVal.Store(&b)
		if err := n.ml().UpdateNode(timeout); err != nil {
			n.log.Debug().Err(err).Msg("gossip: leaving flag not yet sent")
		}
	}
	n.metaMu.Unlock()
	if err := n.ml().Leave(max(timeout-time.Since(start), time.Millisecond)); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	return nil
}

// Shutdown stops the node without telling anyone: the others declare it dead
// once failure detection gives up on it (call Leave first to leave
// gracefully). It waits for the node's goroutines, including a running
// OnComposition or OnMember, and is safe to call more than once.
func (n *Node) Shutdown() error {
	n.ops.Lock()
	if !n.markClosed() {
		n.ops.Unlock()
		return nil
	}
	err := n.ml().Shutdown()
	n.ops.Unlock() // before waiting: OnMember may be calling UpdateMeta
	n.wg.Wait()
	if err != nil {
		return fmt.Errorf("gossip: shutdown: %w", err)
	}
	n.log.Info().Msg("gossip: shut down")
	return nil
}

func (n *Node) markClosed() bool {
	n.life.Lock()
	defer n.life.Unlock()
	if n.closed {
		return false
	}
	n.closed = true
	close(n.stop)
	return true
}

func (n *Node) isClosed() bool {
	n.life.Lock()
	defer n.life.Unlock()
	return n.closed
}

func (n *Node) closeAndWait() {
	n.markClosed()
	n.wg.Wait()
}
