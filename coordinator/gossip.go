package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/gossip"
)

// exportCache serves the composition document to gossip peers, encoding each
// revision once.
type exportCache struct {
	store composition.Store
	mu    sync.Mutex
	rev   uint64
	doc   []byte
}

// Latest implements gossip.Source.
func (e *exportCache) Latest() (uint64, []byte) {
	snap := e.store.Snapshot()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.doc == nil || e.rev != snap.Revision {
		doc, err := json.Marshal(composition.Export(snap, true, time.Now()))
		if err != nil {
			return 0, nil
		}
		e.rev, e.doc = snap.Revision, doc
	}
	return e.rev, e.doc
}

// startGossip joins the gossip cluster: the coordinator announces every new
// revision, serves the composition to peers that are behind, and takes a
// node gossip declares dead as a second failure signal for its instance. The
// returned stop leaves the cluster.
func (c *Coordinator) startGossip(ctx context.Context) (stop func(), err error) {
	cfg := *c.cfg.Gossip
	hostname, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	cfg.Name = fmt.Sprintf("coordinator-%s-%s", hostname, hex.EncodeToString(suffix))
	cfg.Source = &exportCache{store: c.store}
	cfg.Logger = c.cfg.Logger
	rev := c.store.Snapshot().Revision
	cfg.Meta = gossip.Meta{Role: gossip.RoleCoordinator, InstanceID: cfg.Name, Revision: rev}
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
		switch ev.Kind {
		case gossip.Dead:
			if ev.Node.Meta.Role == gossip.RoleAgent && c.instances.Fail(ev.Node.Meta.InstanceID, "gossip: node declared dead") {
				c.cfg.Logger.Warn().Str("instance", ev.Node.Meta.InstanceID).Msg("gossip declared the instance's node dead")
			}
		case gossip.Join:
			// A node joining, or coming back from a partition, hears the
			// newest revision at once rather than at the next push/pull.
			if ev.Node.Name != cfg.Name {
				_ = node.Announce(c.store.Snapshot().Revision)
			}
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			snap, err := c.store.Wait(wctx, rev)
			if err != nil {
				return
			}
			rev = snap.Revision
			meta.Revision = rev
			_ = node.UpdateMeta(meta)
			if err := node.Announce(rev); err != nil {
				c.cfg.Logger.Warn().Err(err).Msg("gossip announce")
			}
		}
	}()
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
