package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/portolan/portolan/gossip"
)

// startGossip joins the gossip cluster: the agent serves its composition to
// peers that are behind, takes newer ones from them, and announces what it
// gets from home. Gossip is encrypted: the node starts at once with a
// keyring from --gossip-key or the cache (or with --gossip-insecure), else
// once home hands one at registration. The returned stop leaves the cluster.
func (a *Agent) startGossip(ctx context.Context) (stop func(), err error) {
	keys := a.initialGossipKeys()
	if keys == nil && !a.cfg.Gossip.Insecure && a.home == nil {
		return nil, errors.New("gossip needs a keyring: give --gossip-key or --gossip-key-file, or --home to get home's, or run it openly with --gossip-insecure")
	}
	a.loadViewKey()
	g := &agentGossip{a: a}
	rev, _ := a.comp.Latest()
	g.meta = gossip.Meta{Role: gossip.RoleAgent, Service: a.reg.Service, InstanceID: a.ID(), Revision: rev, Addr: a.appAddr()}
	g.meta.Labels = gossip.EncodeLabels(a.reg.Labels)
	if err := gossip.CheckMeta(g.meta); err != nil && g.meta.Labels != "" {
		a.log.Warn().Err(err).Msg("instance labels left out of gossip metadata (too long): while home is away, peers place this instance as if it had none")
		g.meta.Labels = ""
	}
	// Peers match the instance to home's map by this id, not the node name.
	a.followID(g.renamed)
	// Set before any loop runs: gossip may deliver a composition at once.
	a.onComposition = g.installed
	if keys != nil || a.cfg.Gossip.Insecure {
		n, err := g.start(ctx, keys)
		if err != nil {
			return nil, err
		}
		return func() { leave(n) }, nil
	}
	a.log.Info().Msg("gossip starts once home hands its keyring at registration")
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			return
		case <-a.awaitGossipKeys():
		}
		n, err := g.start(ctx, a.homeGossipKeys())
		if err != nil {
			a.log.Error().Err(err).Msg("gossip not started")
			return
		}
		<-ctx.Done()
		leave(n)
	}()
	return func() { cancel(); <-done }, nil
}

func leave(n *gossip.Node) {
	_ = n.Leave(time.Second)
	_ = n.Shutdown()
}

// agentGossip is the agent's side of its gossip node.
type agentGossip struct {
	a    *Agent
	mu   sync.Mutex // guards meta, and node once set; never held across a slow call of the node
	meta gossip.Meta
	node *gossip.Node
	// installs counts installed's calls (under mu); sending serialises
	// their calls of the node (UpdateMeta waits for memberlist, Announce
	// compresses the view), and a call overtaken by a later one leaves the
	// sending to it: announcements keep the order of the installs.
	installs uint64
	sending  sync.Mutex
}

// maxMetaSends bounds how often the metadata is sent again when it changed
// while it was being sent.
const maxMetaSends = 3

// installed hears of every newer composition the agent installed. The node
// is called outside mu, so that the local API's and the home loop's reads
// of the metadata do not wait on gossip.
func (g *agentGossip) installed(rev uint64, from string) {
	g.mu.Lock()
	g.meta.Revision = rev
	g.installs++
	turn := g.installs
	g.mu.Unlock()

	g.sending.Lock()
	defer g.sending.Unlock()
	g.mu.Lock()
	node, last := g.node, g.installs
	g.mu.Unlock()
	if node == nil || last != turn {
		return // start sends meta as it is then; a later install sends its own
	}
	g.sendMetaHeld(node)
	if from != fromGossip { // gossip announces what it fetched itself
		if err := node.Announce(rev); err != nil {
			g.a.log.Warn().Err(err).Msg("gossip announce")
		}
	}
}

// sendMetaHeld sends the metadata as it is now to peers, with g.sending
// held and mu not: UpdateMeta waits for memberlist's broadcast. Another
// change of meta meanwhile (renamed, installed) may have been sent before
// this older copy, so the newest is sent again.
func (g *agentGossip) sendMetaHeld(node *gossip.Node) {
	g.mu.Lock()
	meta := g.meta
	g.mu.Unlock()
	for range maxMetaSends {
		if err := node.UpdateMeta(meta); err != nil {
			g.a.log.Warn().Err(err).Msg("gossip metadata")
		}
		g.mu.Lock()
		now := g.meta
		g.mu.Unlock()
		if now == meta {
			return
		}
		meta = now
	}
}

// start starts the node with keys (nil: insecure).
func (g *agentGossip) start(ctx context.Context, keys [][]byte) (*gossip.Node, error) {
	a := g.a
	cfg := *a.cfg.Gossip
	cfg.Name = a.incarnation // memberlist keeps a node's name for life; Meta.InstanceID follows ID
	cfg.Source = a.comp
	cfg.Logger = a.log
	cfg.Keys = keys
	g.mu.Lock()
	cfg.Meta = g.meta
	g.mu.Unlock()
	cfg.Accept = a.acceptFromPeer
	// Views travel sealed with the service's view key: another service's
	// agent, or a holder of the keyring alone, fetches nothing it can read.
	cfg.Envelope = &a.viewKey
	cfg.OnComposition = func(_ uint64, doc []byte) { _ = a.installComposition(doc, fromGossip) }
	// The first join is bounded: CMD must not wait for peers; the node keeps
	// trying in the background while it is alone.
	jctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	n, err := gossip.Start(jctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	g.mu.Lock()
	g.node = n
	g.meta.API = a.advertisedAPI(n.Addr())
	g.mu.Unlock()
	g.sending.Lock()
	g.sendMetaHeld(n)
	g.sending.Unlock()
	if keys != nil {
		a.startedGossip(n, keys)
	}
	a.node.Store(n)
	return n, nil
}

// appAddr is the app's address and port as registered with home, for peers
// to route to while home is unreachable; "" when no address resolved.
func (a *Agent) appAddr() string {
	if a.reg.Address == "" {
		return ""
	}
	return net.JoinHostPort(a.reg.Address, strconv.Itoa(a.reg.Port))
}

// advertisedAPI is the local API address peers could use, or "" when it is
// bound to loopback (unreachable from other containers).
func (a *Agent) advertisedAPI(gossipAddr string) string {
	host, port, err := net.SplitHostPort(a.cfg.API)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(host)
	switch {
	case ip != nil && ip.IsLoopback():
		return ""
	case host == "" || (ip != nil && ip.IsUnspecified()):
		if ghost, _, err := net.SplitHostPort(gossipAddr); err == nil {
			host = ghost
		}
	}
	return net.JoinHostPort(host, port)
}
