package composition

import "strings"

// A backend usage mounts a backend API in a product under a path; deleting it
// drops what the product's plans say of the backend's metrics.
var backendUsageDef = &kindDef[BackendUsage, *BackendUsage]{
	Kind:     KindBackendUsage,
	Table:    func(c *Composition) *Table[*BackendUsage] { return &c.BackendUsages },
	Document: func(d *Document) *[]*BackendUsage { return &d.BackendUsages },
	Parent:   func(u *BackendUsage) int64 { return u.ServiceID },
	Keep:     func(u, old *BackendUsage) { u.ServiceID, u.BackendAPIID = old.ServiceID, old.BackendAPIID },
	Prepare: func(_ *Composition, u, _ *BackendUsage) error {
		u.Path = defaultStr(u.Path, "/")
		return nil
	},
	Validate: validateBackendUsage,
	Cascade:  cascadeBackendUsage,
	Import: func(u *BackendUsage, ref refFunc) {
		u.ServiceID, u.BackendAPIID = ref("service_id", u.ServiceID), ref("backend_id", u.BackendAPIID)
	},
	NaturalKey: func(x *keyIndex, u *BackendUsage) (string, string, error) {
		backend, err := x.ref("backend_id", u.BackendAPIID)
		if err != nil {
			return "", "", err
		}
		return x.ownedKey("service_id", u.ServiceID, "backend_usage", backend)
	},
}

func validateBackendUsage(c *Composition, u *BackendUsage, v *ValidationError) error {
	if _, ok := c.Services.Get(u.ServiceID); !ok {
		return NotFound(KindService, u.ServiceID)
	}
	if _, ok := c.BackendAPIs.Get(u.BackendAPIID); !ok {
		v.Add("backend_api_id", "does not exist")
	}
	if !strings.HasPrefix(u.Path, "/") || strings.ContainsAny(u.Path, " ?#") {
		v.Add("path", invalidFormat)
	}
	if _, dup := c.BackendUsages.FindUnder(u.ServiceID, func(o *BackendUsage) bool {
		return o.BackendAPIID == u.BackendAPIID && o.ID != u.ID
	}); dup {
		v.Add("backend_api_id", taken)
	}
	// porta: "validates :path, uniqueness: { scope: :service_id,
	// case_sensitive: false }". Two backends under one path would split a
	// request's usage between them; "/v1/" and "/v1" are one mount here.
	mount := strings.TrimSuffix(u.Path, "/")
	if _, dup := c.BackendUsages.FindUnder(u.ServiceID, func(o *BackendUsage) bool {
		return o.ID != u.ID && strings.EqualFold(strings.TrimSuffix(o.Path, "/"), mount)
	}); dup {
		v.Add("path", "This path is already taken. Specify a different path.")
	}
	return nil
}

// cascadeBackendUsage removes the limits and pricing rules the product's plans
// set on the backend's metrics: they can no longer count them.
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
