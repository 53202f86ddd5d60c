package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/portolan/portolan/gossip"
)

// startGossip joins the gossip cluster: the coordinator takes a node gossip
// declares dead as a second failure signal for its instance. It serves no
// composition there: agents get their signed views from home's API, each
// only its own, and share them among themselves. The returned stop leaves
// the cluster.
func (c *Coordinator) startGossip(ctx context.Context) (stop func(), err error) {
	cfg := *c.cfg.Gossip
	hostname, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	cfg.Name = fmt.Sprintf("coordinator-%s-%s", hostname, hex.EncodeToString(suffix))
	cfg.Source = nil
	cfg.Logger = c.cfg.Logger
	cfg.Meta = gossip.Meta{Role: gossip.RoleCoordinator, InstanceID: cfg.Name}
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

	return func() {
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
