package agent

import (
	"context"

	"github.com/portolan/portolan/registry/jointoken"
)

// placedServiceID is the service id of the instance's placement; 0 while unknown.
func (a *Agent) placedServiceID() int64 {
	a.st.mu.RLock()
	defer a.st.mu.RUnlock()
	if a.st.placement == nil {
		return 0
	}
	return a.st.placement.ServiceID
}

// runUsage runs the usage reporter until ctx ends: to home, or without
// home, locally.
func (a *Agent) runUsage(ctx context.Context) {
	if a.home == nil {
		a.usage.Run(ctx, nil, a.cfg.ReportInterval)
		return
	}
	a.usage.SendsWith(joinTokenID(a.cfg.Token))
	a.usage.Run(ctx, a.m.countBackendCalls(a.home), a.cfg.ReportInterval)
}

// joinTokenID is the id of the join token --token is, under which home
// deduplicates the agent's usage batches; "" for the coordinator's
// bootstrap token, as home has it.
func joinTokenID(token string) string {
	if !jointoken.IsJoinToken(token) {
		return ""
	}
	tok, err := jointoken.Parse(token)
	if err != nil {
		return "" // refused at start (joinTokenPin)
	}
	return tok.ID
}
