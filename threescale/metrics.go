package threescale

import (
	"time"

	"github.com/portolan/portolan/composition"
)

func (a *API) metricRoutes() []Route {
	var rs []Route
	for _, o := range []struct {
		ownerType, param, base, tag string
		formats                     []Format
	}{
		// The official client reads product metrics as JSON and, through
		// its legacy calls, as XML; backend metrics are JSON only in 3scale.
		{composition.OwnerService, "service_id", "/admin/api/services/{service_id}", "Metric", []Format{JSON, XML}},
		{composition.OwnerBackendAPI, "backend_api_id", "/admin/api/backend_apis/{backend_api_id}", "Backend Metric", nil},
	} {
		metrics := metricCollection(o.ownerType, o.param, false)
		methods := metricCollection(o.ownerType, o.param, true)
		rs = append(rs, metrics.routes(o.tag, o.tag, o.base+"/metrics", "id", o.formats...)...)
		what := "Method"
		if o.ownerType == composition.OwnerBackendAPI {
			what = "Backend Method"
		}
		rs = append(rs, methods.routes(o.tag, what, o.base+"/metrics/{metric_id}/methods", "id", o.formats...)...)
	}
	return rs
}

// metricCollection is an owner's metrics (all of them, methods included, as
// 3scale lists them) or, with methods, the children of the metric at
// {metric_id}. 3scale pages only backend metrics.
func metricCollection(ownerType, param string, methods bool) *collection[composition.Metric, *composition.Metric] {
	names := fixedNames("metric", "metrics")
	if methods {
		names = fixedNames("method", "methods")
	}
	return &collection[composition.Metric, *composition.Metric]{
		kind:  composition.KindMetric,
		names: names,
		table: func(c *composition.Composition) *composition.Table[*composition.Metric] { return &c.Metrics },
		scope: func(c *call, s *composition.Composition) (func(*composition.Metric) bool, func(*composition.Metric), error) {
			id, err := ownerOf(c, s, ownerType, param)
			if err != nil {
				return nil, nil, err
			}
			var parent int64
			if methods {
				if parent, err = c.id("metric_id"); err != nil {
					return nil, nil, err
				}
				if m, ok := s.Metrics.Get(parent); !ok || m.OwnerType != ownerType || m.OwnerID != id {
					return nil, nil, ErrNotFound
				}
			}
			belongs := func(m *composition.Metric) bool {
				return m.OwnerType == ownerType && m.OwnerID == id && (!methods || m.ParentID == parent)
			}
			attach := func(m *composition.Metric) {
				m.OwnerType, m.OwnerID = ownerType, id
				if methods {
					m.ParentID = parent
				}
			}
			return belongs, attach, nil
		},
		prepare: prepareMetric,
		view:    func(c *call, m *composition.Metric) (string, any) { return metricView(c, m, methods) },
		unpaged: ownerType != composition.OwnerBackendAPI,
	}
}

// prepareMetric applies what 3scale does beyond the stored fields: the
// deprecated name parameter as system_name, a method's unit being its
// parent's, and friendly names unique per owner.
func prepareMetric(c *call, tx *composition.Tx, n, old *composition.Metric) error {
	s := tx.View()
	if old == nil && !c.params.Has("system_name") {
		if v, ok := c.params.Get("name"); ok {
			n.SystemName = v
		}
	}
	if n.IsMethod() {
		if p, ok := s.Metrics.Get(n.ParentID); ok {
			n.Unit = p.Unit
		}
	}
	if n.FriendlyName != "" {
		if _, dup := s.Metrics.Find(func(o *composition.Metric) bool {
			return o.OwnerType == n.OwnerType && o.OwnerID == n.OwnerID && o.ID != n.ID && o.FriendlyName == n.FriendlyName
		}); dup {
			return composition.Invalid("friendly_name", "has already been taken")
		}
	}
	return nil
}

// metricWire is a metric or method as 3scale renders it: MetricRepresenter
// and MethodRepresenter in JSON, Metric#to_xml in XML. Owner fields are not
// on 3scale's wire.
type metricWire struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name" wire:"omitempty"`
	SystemName   string    `json:"system_name"`
	FriendlyName string    `json:"friendly_name"`
	ServiceID    int64     `json:"service_id" wire:"omitempty"`
	Description  string    `json:"description"`
	Unit         string    `json:"unit" wire:"omitempty"`
	ParentID     int64     `json:"parent_id" wire:"omitempty"`
	MetricID     int64     `json:"metric_id" wire:"omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// metricView renders m; asMethod is set on the methods endpoints, which wrap
// items in "method".
func metricView(c *call, m *composition.Metric, asMethod bool) (string, any) {
	w := metricWire{ID: m.ID, SystemName: m.SystemName, FriendlyName: m.FriendlyName, Description: m.Description}
	if c.format == XML {
		// Metric#to_xml: no timestamps, the service as service_id, and a
		// method is a <method> whose parent is metric_id, in any list.
		w.Name, w.ServiceID = m.Name, m.OwnerID
		if m.IsMethod() {
			w.MetricID = m.ParentID
			return "method", w
		}
		w.Unit = m.Unit
		return "metric", w
	}
	w.CreatedAt, w.UpdatedAt = m.CreatedAt, m.UpdatedAt
	w.ParentID = m.ParentID
	if asMethod {
		w.Name = m.Name
		return "method", w
	}
	if m.OwnerType == composition.OwnerService {
		w.Name = m.Name // 3scale leaves the deprecated name out for backend metrics
	}
	w.Unit = m.Unit
	return "metric", w
}
