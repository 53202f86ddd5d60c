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
	cfg.OnMember = func(ev gossip.Event) {
		<-ready
		if ev.Kind == gossip.Dead && ev.Node.Meta.Role == gossip.RoleAgent && c.instances.Fail(ev.Node.Meta.InstanceID, "gossip: node declared dead") {
			c.cfg.Logger.Warn().Str("instance", ev.Node.Meta.InstanceID).Msg("gossip declared the instance's node dead")
		}
	}
	jctx, cancel := context.WithTimeout(ctx, 2*time.Second) // then rejoins in the background
	node, err = gossip.Start(jctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	meta := cfg.Meta
	meta.API = c.advertisedAPI(node.Addr())
	if err := node.UpdateMeta(meta); err != nil {
		c.cfg.Logger.Warn().Err(err).Msg("gossip metadata")
	}
	close(ready)

	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if c.keyring != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.followKeyring(wctx, node)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		_ = node.Leave(2 * time.Second)
		_ = node.Shutdown()
	}, nil
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
