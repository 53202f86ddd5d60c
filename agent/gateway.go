package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/portolan/portolan/agent/gateway"
	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/registry"
)

// The gateway's wiring: the agent starts it and feeds it the composition,
// the instance's placement and the service map.

// startGateway listens on the gateway address and serves until ctx ends,
// following the composition, the placement and the service map.
func (a *Agent) startGateway(ctx context.Context, wg *sync.WaitGroup) error {
	cfg := *a.cfg.Gateway
	cfg.ReportInterval = a.cfg.ReportInterval
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = ledger.DefaultReportInterval // as the ledger's Run takes it
	}
	if a.usage == nil {
		return errors.New("gateway: the agent has no usage ledger to count usage with")
	}
	upstream, err := cfg.Check()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway on %s: %w", cfg.Listen, err)
	}
	g := gateway.New(cfg, upstream, a.ID(), a.usage, a.m.registry, a.log)
	a.followID(g.SetSelf) // never a route to itself under a new id
	g.SetHome(homeView{a})
	wg.Add(3)
	go func() { defer wg.Done(); a.followForGateway(ctx, g) }()
	go func() { defer wg.Done(); a.followMapForGateway(ctx, g) }()
	go func() {
		defer wg.Done()
		if err := g.Run(ctx, ln); err != nil {
			a.log.Error().Err(err).Msg("gateway stopped")
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.StopTracing(sctx); err != nil {
			a.log.Warn().Err(err).Msg("gateway: the last trace spans were not sent")
		}
	}()
	a.log.Info().Str("listen", ln.Addr().String()).Str("upstream", strings.TrimSuffix(upstream.String(), "/")).Msg("gateway listening")
	return nil
}

// homeView is the gateway's view of home (its caching policy's modes):
// away when no heartbeat has been answered within the TTL, or never.
type homeView struct{ a *Agent }

func (h homeView) Away() bool {
	h.a.st.mu.RLock()
	last := h.a.st.lastHeartbeat
	h.a.st.mu.RUnlock()
	return last.IsZero() || time.Since(last) > h.a.cfg.TTL
}

// watch returns the newest revision, its document and a channel closed when
// a newer one is installed.
func (c *compositionCache) watch() (uint64, []byte, <-chan struct{}) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.revision, c.doc, c.changed
}

// gatewayPlacement is where the instance serves in snap: home's placement,
// or, when the snapshot is newer than it (or home was never reached), the
// same resolution home makes, drawn on the snapshot.
func (a *Agent) gatewayPlacement(snap *composition.Snapshot) registry.Placement {
	if p := a.st.self().Placement; p != nil && p.Revision >= snap.Revision {
		return *p
	}
	return registry.PlacementFor(snap, a.reg.Service, a.reg.Labels)
}

// followForGateway rebuilds the gateway's view whenever the composition
// changes, and checks the placement every second (home tells it in
// heartbeats).
func (a *Agent) followForGateway(ctx context.Context, g *gateway.Gateway) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var (
		snap    *composition.Snapshot
		lastErr string
	)
	for {
		rev, doc, changed := a.comp.watch()
		if doc != nil && (snap == nil || rev != snap.Revision) {
			s, err := decodeSnapshot(doc)
			if err != nil {
				a.log.Warn().Err(err).Uint64("revision", rev).Msg("gateway: keeping the previous composition")
			} else {
				snap = s
			}
		}
		if snap != nil {
			if _, err := g.Update(snap, a.gatewayPlacement(snap)); err != nil {
				if err.Error() != lastErr {
					a.log.Warn().Err(err).Msg("gateway: answering 503 until the composition serves this instance")
				}
				lastErr = err.Error()
			} else {
				lastErr = ""
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// decodeSnapshot turns a composition document into a snapshot.
func decodeSnapshot(doc []byte) (*composition.Snapshot, error) {
	var d composition.Document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("decode composition: %w", err)
	}
	c, err := d.Composition()
	if err != nil {
		return nil, fmt.Errorf("decode composition: %w", err)
	}
	return c, nil
}

// followMapForGateway keeps the gateway's routes current: a blocking watch
// of home's map, or, while home is unreachable, the gossip view every second.
func (a *Agent) followMapForGateway(ctx context.Context, g *gateway.Gateway) {
	if a.home == nil && a.cfg.Gossip == nil {
		return
	}
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	var index uint64
	for ctx.Err() == nil {
		var (
			m   *registry.Map
			err error
		)
		if a.home != nil {
			m, index, err = a.watchMap(ctx, index)
		}
		if (a.home == nil || err != nil) && a.node.Load() != nil {
			m, err = a.serviceMap(ctx) // the gossip view when home is down
			if err == nil {
				index = 0
				g.SetMap(m)
				err = errors.New("polling the gossip view") // and wait before the next look
			}
		} else if err == nil {
			g.SetMap(m)
			retry.Reset()
			continue
		}
		if ctx.Err() == nil {
			a.log.Debug().Err(err).Msg("gateway: service map")
		}
		if !retry.Wait(ctx) {
			return
		}
	}
}

// mapWait is how long a watch of home's map blocks.
const mapWait = 30 * time.Second

// watchMap asks home for its service map newer than index, blocking up to
// mapWait; it returns the map and its index.
func (a *Agent) watchMap(ctx context.Context, index uint64) (*registry.Map, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, mapWait+10*time.Second)
	defer cancel()
	m, idx, err := a.homeMap(ctx, index, mapWait)
	if err != nil {
		return nil, index, fmt.Errorf("watch home's map: %w", err)
	}
	return m, idx, nil
}
