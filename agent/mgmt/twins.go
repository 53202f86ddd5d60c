package mgmt

import (
	"net/http"
	"slices"
	"strings"

	"github.com/portolan/portolan/swagger"
)

// lookup finds the operation of a call and the plan of the transforms that
// apply to it. 3scale serves every operation as .json and .xml, and specs
// often list one: a path is looked up in both forms. The upstream routes
// more spellings than one to the same handler (twins), and a spec may list
// them as operations of different standing: the omitted one decides, as the
// upstream may route the call to it, and the transforms of every kept one
// apply, so that what is refused or hidden through one spelling is through
// all. found is false when neither form of the path is an operation.
func (p *Proxy) lookup(method, path string) (d swagger.Decision, plan *callPlan, found bool) {
	d, found = p.routes.Lookup(method, path)
	if !found {
		if alt, ok := otherFormat(path); ok {
			d, found = p.routes.Lookup(method, alt)
		}
	}
	if !found {
		return d, nil, false
	}
	var plans []*callPlan
	for _, m := range methodTwins(method) {
		for _, q := range pathTwins(path) {
			t, ok := p.routes.Lookup(m, q)
			switch {
			case !ok:
			case !t.Kept:
				return t, nil, true
			default:
				if pl := p.plans[t.Operation.Method+" "+t.Operation.Path]; pl != nil && !slices.Contains(plans, pl) {
					plans = append(plans, pl)
				}
			}
		}
	}
	switch len(plans) {
	case 0:
		return d, nil, true
	case 1:
		return d, plans[0], true
	}
	return d, p.planOf(func(_ int, t *transform) bool {
		return slices.ContainsFunc(plans, func(pl *callPlan) bool { return slices.Contains(pl.ts, t) })
	}), true
}

// planOf is the plan of the transforms keep selects, in file order (each
// once, though it matches several twins); nil when it selects none.
func (p *Proxy) planOf(keep func(i int, t *transform) bool) *callPlan {
	plan := &callPlan{}
	for i, t := range p.ts {
		if keep(i, t) {
			plan.ts = append(plan.ts, t)
			plan.reqBody = append(plan.reqBody, t.reqBody...)
			plan.respBody = append(plan.respBody, t.respBody...)
		}
	}
	if len(plan.ts) == 0 {
		return nil
	}
	plan.guard()
	return plan
}

// methodTwins are the methods the upstream answers as method, method
// first: porta's resources route PUT and PATCH of a member to one update
// action, as home does (3scale/porta config/routes.rb, threescale/crud.go),
// and both answer HEAD as GET.
func methodTwins(method string) []string {
	switch method {
	case http.MethodPut:
		return []string{http.MethodPut, http.MethodPatch}
	case http.MethodPatch:
		return []string{http.MethodPatch, http.MethodPut}
	case http.MethodHead:
		return []string{http.MethodHead, http.MethodGet}
	}
	return []string{method}
}

// pathTwins are the spellings the upstream routes to path's handler, path
// first: porta's admin API routes are "/path(.:format)", and home's too
// (threescale.FormatOf), so /services/1, /services/1.json and
// /services/1.xml are one resource.
func pathTwins(path string) []string {
	if base, ok := strings.CutSuffix(path, ".json"); ok {
		return []string{path, base + ".xml", base}
	}
	if base, ok := strings.CutSuffix(path, ".xml"); ok {
		return []string{path, base + ".json", base}
	}
	return []string{path, path + ".json", path + ".xml"}
}
