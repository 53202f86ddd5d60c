package composition

import (
	"strconv"
	"time"
)

// KindPlacement is the kind of placements.
const KindPlacement Kind = "placements"

// Selector picks instances by their service name and labels.
type Selector struct {
	Service string            `json:"service"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// Matches reports whether an instance of service with labels is picked.
func (s Selector) Matches(service string, labels map[string]string) bool {
	if s.Service != service {
		return false
	}
	for k, v := range s.Labels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Placement maps the instances a selector picks to a service and the plans they
// serve (none listed means all of the service's plans).
type Placement struct {
	ID        int64     `json:"id" wire:"ro"`
	Name      string    `json:"name"`
	Selector  Selector  `json:"selector"`
	ServiceID int64     `json:"service_id"`
	PlanIDs   []int64   `json:"plan_ids"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

func (e *Placement) Key() int64                     { return e.ID }
func (e *Placement) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Placement) created() time.Time             { return e.CreatedAt }
func (*Placement) info() kindInfo                   { return placementDef }

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
	Import: func(p *Placement, ref func(string, int64) int64) {
		p.ServiceID = ref("service_id", p.ServiceID)
		plans := make([]int64, len(p.PlanIDs))
		for i, id := range p.PlanIDs {
			plans[i] = ref("plan_ids", id)
		}
		p.PlanIDs = plans
	},
}

func validatePlacement(c *Composition, p *Placement) error {
	v := &ValidationError{}
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
	return v.Err()
}
