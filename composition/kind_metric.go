package composition

import "cmp"

// A metric, or a method under hits, belongs to a service or a backend API.
// Hits cannot be deleted; deleting a metric takes its methods and what names it.
var metricDef = &kindDef[Metric, *Metric]{
	Kind:     KindMetric,
	Table:    func(c *Composition) *Table[*Metric] { return &c.Metrics },
	Document: func(d *Document) *[]*Metric { return &d.Metrics },
	Parent:   func(m *Metric) int64 { return m.OwnerID },
	Unique:   func(m *Metric) []string { return []string{m.OwnerType + " " + m.SystemName} },
	Keep: func(m, old *Metric) {
		m.SystemName, m.OwnerType, m.OwnerID, m.ParentID = old.SystemName, old.OwnerType, old.OwnerID, old.ParentID
	},
	Prepare: func(_ *Composition, m, old *Metric) error {
		if old == nil {
			m.SystemName = defaultStr(m.SystemName, SystemName(m.FriendlyName))
			if m.IsMethod() {
				m.Unit = defaultStr(m.Unit, "hit")
			}
		}
		m.Name = m.SystemName
		return nil
	},
	Validate: validateMetric,
	CheckDelete: func(_ *Composition, m *Metric) error {
		if m.SystemName == "hits" {
			return Invalid("system_name", "the hits metric cannot be deleted")
		}
		return nil
	},
	Cascade: cascadeMetric,
	Import: func(m *Metric, ref refFunc) {
		m.OwnerID, m.ParentID = ref("owner_id", m.OwnerID), ref("parent_id", m.ParentID)
	},
	// Methods after plain metrics, so a method validates against its hits.
	ImportOrder: func(a, b *Metric) int { return cmp.Compare(b2i(a.IsMethod()), b2i(b.IsMethod())) },
	NaturalKey: func(x *keyIndex, m *Metric) (string, string, error) {
		return x.ownedKey("owner_id", m.OwnerID, "metric", m.SystemName)
	},
	Derived: []string{"name"},
}

func validateMetric(c *Composition, m *Metric, v *ValidationError) error {
	if !c.ownerExists(m.OwnerType, m.OwnerID) {
		v.Add("owner_id", "does not exist")
		return nil
	}
	name(v, "friendly_name", m.FriendlyName)
	systemName(v, m.SystemName)
	name(v, "unit", m.Unit)
	text(v, "description", m.Description)
	if c.Metrics.takenUnder(m, m.OwnerType+" "+m.SystemName) {
		v.Add("system_name", taken)
	}
	if m.IsMethod() {
		parent, ok := c.Metrics.Get(m.ParentID)
		if !ok || parent.OwnerType != m.OwnerType || parent.OwnerID != m.OwnerID || parent.SystemName != "hits" {
			v.Add("parent_id", "methods can only be children of hits")
		}
	}
	return nil
}

// cascadeMetric removes a metric's methods and the mapping rules, limits and
// pricing rules that name it.
func cascadeMetric(tx *Tx, m *Metric) {
	c := tx.c
	for _, child := range c.Metrics.Filter(func(o *Metric) bool { return o.ParentID == m.ID }) {
		tx.purge(child)
	}
	for _, r := range c.MappingRules.Filter(func(r *MappingRule) bool { return r.MetricID == m.ID }) {
		tx.drop(r)
	}
	for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.MetricID == m.ID }) {
		tx.drop(l)
	}
	for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.MetricID == m.ID }) {
		tx.drop(r)
	}
}

// createHits creates the hits metric 3scale gives every service and backend API.
func (tx *Tx) createHits(ownerType string, ownerID int64) error {
	return tx.Create(&Metric{
		OwnerType: ownerType, OwnerID: ownerID,
		SystemName: "hits", FriendlyName: "Hits", Unit: "hit",
		Description: "Number of API hits",
	})
}

// ownerExists reports whether the owner of a metric or mapping rule exists.
func (c *Composition) ownerExists(ownerType string, id int64) bool {
	switch ownerType {
	case OwnerService:
		_, ok := c.Services.Get(id)
		return ok
	case OwnerBackendAPI:
		_, ok := c.BackendAPIs.Get(id)
		return ok
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
