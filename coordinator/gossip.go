package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/portolan/portolan/gossip"
)

// startGossip joins the gossip cluster, encrypted with home's keyring: the
// coordinator takes a node gossip declares dead as a second failure signal
// for its instance. It serves no composition there: agents get their signed
// views from home's API, each only its own, and share them among
// themselves. The returned stop leaves the cluster.
func (c *Coordinator) startGossip(ctx context.Context) (stop func(), err error) {
	cfg := *c.cfg.Gossip
	hostname, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	cfg.Name = fmt.Sprintf("coordinator-%s-%s", hostname, hex.EncodeToString(suffix))
	cfg.Source = nil
	cfg.Logger = c.cfg.Logger
	cfg.Meta = gossip.Meta{Role: gossip.RoleCoordinator, InstanceID: cfg.Name}
	cfg.Keys, cfg.Insecure = nil, c.keyring == nil
	if c.keyring != nil {
		if cfg.Keys, err = c.keyring.Keys(); err != nil {
			return nil, err
		}
	}
	var node *gossip.Node
	ready := make(chan struct{})
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex // stopped and wg.Add: no check starts once stop waits
	stopped := false
	confirming := make(chan struct{}, maxDeathChecks)
	cfg.OnMember = func(ev gossip.Event) {
		<-ready
		if ev.Kind != gossip.Dead || ev.Node.Meta.Role != gossip.RoleAgent {
			return
		}
		select {
		case confirming <- struct{}{}:
		default: // a mass death: the instances' TTLs catch them anyway
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			<-confirming
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-confirming; wg.Done() }()
			c.gossipDeath(wctx, node, ev.Node)
		}()
	}
	jctx, jcancel := context.WithTimeout(ctx, 2*time.Second) // then rejoins in the background
	node, err = gossip.Start(jctx, cfg)
	jcancel()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gossip: %w", err)
	}
	meta := cfg.Meta
	meta.API = c.advertisedAPI(node.Addr())
	if err := node.UpdateMeta(meta); err != nil {
		c.cfg.Logger.Warn().Err(err).Msg("gossip metadata")
	}
	close(ready)

	if c.keyring != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.followKeyring(wctx, node)
		}()
	}
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		cancel()
		wg.Wait()
		_ = node.Leave(2 * time.Second)
		_ = node.Shutdown()
	}, nil
}

// maxDeathChecks bounds the deaths gossip reports that are checked at once.
const maxDeathChecks = 16

// gossipDeath fails the instance of a node gossip declared dead, once the
// node is shown to be the instance's (ownsInstance) and does not answer a
// ping of home's own: a dead message is any keyring holder's to send, and
// memberlist takes it for a live node as for a dead one.
func (c *Coordinator) gossipDeath(ctx context.Context, node *gossip.Node, m gossip.Member) {
	id := m.Meta.InstanceID
	if err := c.ownsInstance(m); err != nil {
		c.cfg.Logger.Debug().Err(err).Str("node", m.Name).Str("instance", id).Msg("gossip: dead node ignored; the instance is left to its TTL")
		return
	}
	if node.Answers(m, 2) {
		c.cfg.Logger.Warn().Str("node", m.Name).Str("instance", id).Msg("gossip declared a node dead that answers home's ping; the instance is left to its TTL")
		return
	}
	if ctx.Err() == nil && c.instances.Fail(id, "gossip: node declared dead") {
		c.cfg.Logger.Warn().Str("instance", id).Msg("gossip declared the instance's node dead")
	}
}

// ownsInstance tells whether a gossip node is the agent of the instance its
// metadata names, which that node wrote itself: any holder of the cluster
// keyring could start a node claiming another instance and kill it. An
// agent names its node after its first instance id, and gossips from the
// address it registered (or, on home's own host, over loopback): a node
// named otherwise, or elsewhere, is not taken as the instance's. An agent
// home gave a new id is then left to its TTL.
func (c *Coordinator) ownsInstance(m gossip.Member) error {
	id := m.Meta.InstanceID
	if m.Name != id {
		return fmt.Errorf("node %q claims instance %q, which is not its name", m.Name, id)
	}
	host, _, err := net.SplitHostPort(m.Addr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		return fmt.Errorf("node %q has no gossip IP (%q)", m.Name, m.Addr)
	}
	mp, ok := c.instances.MapOne(id)
	if !ok {
		return fmt.Errorf("instance %q is not registered", id)
	}
	for _, s := range mp.Services {
		for _, in := range s.Instances {
			if in.ID == id && sameHost(ip, net.ParseIP(in.Address)) {
				return nil
			}
			if in.ID == id {
				return fmt.Errorf("node %q gossips from %s; instance %q registered address %q", m.Name, ip, id, in.Address)
			}
		}
	}
	return fmt.Errorf("instance %q is not on home's map", id)
}

// sameHost tells whether a node gossiping from gossipIP runs where an
// instance registered registeredIP: the same IP, or loopback gossip (which
// only reaches home from home's own host) for an address of this host.
func sameHost(gossipIP, registeredIP net.IP) bool {
	switch {
	case registeredIP == nil:
		return false
	case gossipIP.Equal(registeredIP):
		return true
	case !gossipIP.IsLoopback():
		return false
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(registeredIP) {
			return true
		}
	}
	return false
}

// advertisedAPI is the API address peers can use: the listen address, with an
// unspecified host replaced by the gossip address's.
func (c *Coordinator) advertisedAPI(gossipAddr string) string {
	host, port, err := net.SplitHostPort(c.Addr())
	if err != nil {
		return c.Addr()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ghost, _, err := net.SplitHostPort(gossipAddr); err == nil {
			host = ghost
		}
	}
	return net.JoinHostPort(host, port)
}

// followKeyring installs every change of home's keyring in its own gossip
// node until ctx ends: a rotation's steps as they fall due.
func (c *Coordinator) followKeyring(ctx context.Context, node *gossip.Node) {
	for {
		changed, next := c.keyring.watch()
		if keys, err := c.keyring.Keys(); err != nil {
			c.cfg.Logger.Error().Err(err).Msg("gossip keyring")
		} else if err := node.SetKeys(keys); err != nil {
			c.cfg.Logger.Error().Err(err).Msg("gossip keyring not installed")
		}
		var (
			due   <-chan time.Time
			timer *time.Timer
		)
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}
