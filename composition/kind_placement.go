package composition

import "strconv"

// A placement serves a service's plans (all of them when none are listed) on
// the instances its selector picks; it is named after the selector's service
// unless given a name.
var placementDef = &kindDef[Placement, *Placement]{
	Kind:     KindPlacement,
	Table:    func(c *Composition) *Table[*Placement] { return &c.Placements },
	Document: func(d *Document) *[]*Placement { return &d.Placements },
	Prepare: func(_ *Composition, p, _ *Placement) error {
		if p.Name == "" {
			p.Name = p.Selector.Service
		}
		return nil
	},
	Validate: validatePlacement,
	Import: func(p *Placement, ref refFunc) {
		p.ServiceID = ref("service_id", p.ServiceID)
		p.PlanIDs = refList(p.PlanIDs, "plan_ids", ref)
	},
	// Named on its own, a placement still belongs to its service: pruning
	// the service's entities prunes it.
	NaturalKey: func(x *keyIndex, p *Placement) (string, string, error) {
		svc, err := x.ref("service_id", p.ServiceID)
		return childKey("", "placement", keyName(p.Name)), svc, err
	},
}

func validatePlacement(c *Composition, p *Placement, v *ValidationError) error {
	name(v, "selector.service", p.Selector.Service)
	name(v, "name", p.Name)
	if _, ok := c.Services.Get(p.ServiceID); !ok {
		v.Add("service_id", "does not exist")
	}
	for _, id := range p.PlanIDs {
		if pl, ok := c.ApplicationPlans.Get(id); !ok || pl.ServiceID != p.ServiceID {
			v.Add("plan_ids", "plan "+strconv.FormatInt(id, 10)+" is not a plan of the service")
		}
	}
	return nil
}
