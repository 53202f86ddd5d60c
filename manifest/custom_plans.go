package manifest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/portolan/portolan/composition"
)

// CustomPlanLosses says, one line per application on a custom plan, what
// Export loses of it: the application is exported on the plan its custom
// plan was copied from, so the custom plan's own limits, pricing rules and
// prices do not travel. Lines are by account, service and application name.
func CustomPlanLosses(c *composition.Composition) []string {
	type loss struct{ account, service, app, custom, original string }
	var losses []loss
	for _, app := range c.Applications.All() {
		p, ok := c.ApplicationPlans.Get(app.PlanID)
		if !ok || !p.Custom {
			continue
		}
		l := loss{app: app.Name, custom: p.SystemName}
		if a, ok := c.Accounts.Get(app.AccountID); ok {
			l.account = a.OrgName
		}
		if s, ok := c.Services.Get(app.ServiceID); ok {
			l.service = s.SystemName
		}
		if o, ok := c.ApplicationPlans.Get(p.OriginalID); ok {
			l.original = o.SystemName
		}
		losses = append(losses, l)
	}
	slices.SortStableFunc(losses, func(a, b loss) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.service, b.service), cmp.Compare(a.app, b.app))
	})
	out := make([]string, 0, len(losses))
	for _, l := range losses {
		out = append(out, fmt.Sprintf("application %q of account %q (service %q) is on custom plan %q: exported on its original plan %q, without the custom plan's own limits, pricing rules and prices",
			l.app, l.account, l.service, l.custom, l.original))
	}
	return out
}
