package agent

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// startMgmt starts the management proxy, when configured, until ctx ends.
func (a *Agent) startMgmt(ctx context.Context, wg *sync.WaitGroup) error {
	if a.mgmt == nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.mgmt.Listen())
	if err != nil {
		return fmt.Errorf("management proxy on %s: %w", a.mgmt.Listen(), err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); a.mgmt.Serve(ctx, ln) }()
	return nil
}
