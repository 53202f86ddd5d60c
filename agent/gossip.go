package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/portolan/portolan/gossip"
)

// startGossip joins the gossip cluster: the agent serves its composition to
// peers that are behind, takes newer ones from them, and announces what it
// gets from home. The returned stop leaves the cluster.
func (a *Agent) startGossip(ctx context.Context) (stop func(), err error) {
	cfg := *a.cfg.Gossip
	cfg.Name = a.id
	cfg.Source = a.comp
	cfg.Logger = a.log
	rev, _ := a.comp.Latest()
	var (
		mu   sync.Mutex // guards meta, and node once set
		meta = gossip.Meta{Role: gossip.RoleAgent, Service: a.reg.Service, InstanceID: a.id, Revision: rev, Addr: a.appAddr()}
		node *gossip.Node
	)
	meta.Labels = gossip.EncodeLabels(a.reg.Labels)
	if err := gossip.CheckMeta(meta); err != nil && meta.Labels != "" {
		a.log.Warn().Err(err).Msg("instance labels left out of gossip metadata (too long): while home is away, peers place this instance as if it had none")
		meta.Labels = ""
	}
	cfg.Meta = meta
	cfg.Accept = a.acceptFromPeer
	cfg.OnComposition = func(_ uint64, doc []byte) { _ = a.installComposition(doc, fromGossip) }
	// Set before the node starts: gossip may deliver a composition at once.
	a.onComposition = func(rev uint64, from string) {
		mu.Lock()
		defer mu.Unlock()
		if node == nil {
			return
		}
		meta.Revision = rev
		_ = node.UpdateMeta(meta)
		if from != fromGossip { // gossip announces what it fetched itself
			if err := node.Announce(rev); err != nil {
				a.log.Warn().Err(err).Msg("gossip announce")
			}
		}
	}
	// The first join is bounded: CMD must not wait for peers; the node keeps
	// trying in the background while it is alone.
	jctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	n, err := gossip.Start(jctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	mu.Lock()
	node = n
	meta.API = a.advertisedAPI(n.Addr())
	if err := n.UpdateMeta(meta); err != nil {
		a.log.Warn().Err(err).Msg("gossip metadata")
	}
	mu.Unlock()
	a.node.Store(n)
	return func() {
		_ = n.Leave(time.Second)
		_ = n.Shutdown()
	}, nil
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
