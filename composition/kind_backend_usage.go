package composition

import (
	"strings"
	"time"
)

// KindBackendUsage is the kind of backend usages.
const KindBackendUsage Kind = "backend_usages"

// BackendUsage mounts a backend API inside a product under a path prefix.
type BackendUsage struct {
	ID           int64     `json:"id" wire:"ro"`
	ServiceID    int64     `json:"service_id" wire:"ro"`
	BackendAPIID int64     `json:"backend_id"`
	Path         string    `json:"path"`
	CreatedAt    time.Time `json:"created_at" wire:"ro,omitempty"`
	UpdatedAt    time.Time `json:"updated_at" wire:"ro,omitempty"`
}

func (e *BackendUsage) Key() int64                     { return e.ID }
func (e *BackendUsage) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *BackendUsage) created() time.Time             { return e.CreatedAt }
func (*BackendUsage) info() kindInfo                   { return backendUsageDef }

var backendUsageDef = &kindDef[BackendUsage, *BackendUsage]{
	Kind:     KindBackendUsage,
	Table:    func(c *Composition) *Table[*BackendUsage] { return &c.BackendUsages },
	Document: func(d *Document) *[]*BackendUsage { return &d.BackendUsages },
	Prepare: func(_ *Composition, u, old *BackendUsage) error {
		u.Path = defaultStr(u.Path, "/")
		if old != nil {
			u.ServiceID, u.BackendAPIID = old.ServiceID, old.BackendAPIID
		}
		return nil
	},
	Validate: validateBackendUsage,
	Cascade:  cascadeBackendUsage,
	Import: func(u *BackendUsage, ref func(string, int64) int64) {
		u.ServiceID, u.BackendAPIID = ref("service_id", u.ServiceID), ref("backend_id", u.BackendAPIID)
	},
}

func validateBackendUsage(c *Composition, u *BackendUsage) error {
	if _, ok := c.Services.Get(u.ServiceID); !ok {
		return NotFound(KindService, u.ServiceID)
	}
	v := &ValidationError{}
	if _, ok := c.BackendAPIs.Get(u.BackendAPIID); !ok {
		v.Add("backend_api_id", "does not exist")
	}
	if !strings.HasPrefix(u.Path, "/") || strings.ContainsAny(u.Path, " ?#") {
		v.Add("path", invalidFormat)
	}
	if _, dup := c.BackendUsages.Find(func(o *BackendUsage) bool {
		return o.ServiceID == u.ServiceID && o.BackendAPIID == u.BackendAPIID && o.ID != u.ID
	}); dup {
		v.Add("backend_api_id", taken)
	}
	return v.Err()
}

// cascadeBackendUsage removes what the product's plans say of the backend's
// metrics: they can no longer limit or price them.
func cascadeBackendUsage(tx *Tx, u *BackendUsage) {
	c := tx.c
	backendMetric := func(id int64) bool {
		m, ok := c.Metrics.Get(id)
		return ok && m.OwnerType == OwnerBackendAPI && m.OwnerID == u.BackendAPIID
	}
	for _, p := range c.PlansOf(u.ServiceID) {
		for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == p.ID && backendMetric(l.MetricID) }) {
			tx.drop(l)
		}
		for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.PlanID == p.ID && backendMetric(r.MetricID) }) {
			tx.drop(r)
		}
	}
}
