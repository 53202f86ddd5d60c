package threescale

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
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
		metrics := &viewed[composition.Metric, *composition.Metric]{
			col:   metricCollection(o.ownerType, o.param, false),
			many:  "metrics",
			paged: o.ownerType == composition.OwnerBackendAPI,
			view:  func(c *call, m *composition.Metric) (string, any) { return metricView(c, m, false) },
		}
		methods := &viewed[composition.Metric, *composition.Metric]{
			col:   metricCollection(o.ownerType, o.param, true),
			many:  "methods",
			paged: o.ownerType == composition.OwnerBackendAPI,
			view:  func(c *call, m *composition.Metric) (string, any) { return metricView(c, m, true) },
		}
		rs = append(rs, metrics.routes(o.tag, o.tag, o.base+"/metrics", "id", o.formats...)...)
		what := "Method"
		if o.ownerType == composition.OwnerBackendAPI {
			what = "Backend Method"
		}
		rs = append(rs, methods.routes(o.tag, what, o.base+"/metrics/{metric_id}/methods", "id", o.formats...)...)
	}
	return rs
}

// ownerOf resolves the service or backend API named by the path wildcard
// param; a missing one is 404.
func ownerOf(c *call, s *composition.Composition, ownerType, param string) (int64, error) {
	id, err := c.id(param)
	if err != nil {
		return 0, err
	}
	ok := false
	switch ownerType {
	case composition.OwnerService:
		_, ok = s.Services.Get(id)
	case composition.OwnerBackendAPI:
		_, ok = s.BackendAPIs.Get(id)
	}
	if !ok {
		return 0, ErrNotFound
	}
	return id, nil
}

// metricCollection is an owner's metrics (all of them, methods included, as
// 3scale lists them) or, with methods, the children of the metric at
// {metric_id}.
func metricCollection(ownerType, param string, methods bool) *collection[composition.Metric, *composition.Metric] {
	return &collection[composition.Metric, *composition.Metric]{
		kind:  composition.KindMetric,
		names: fixedNames("metric", "metrics"),
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

// viewed serves a collection whose wire shape is not the stored entity's:
// view gives each entity's element name and the value to encode.
type viewed[T any, P entityPtr[T]] struct {
	col   *collection[T, P]
	many  string // list name; "" is a bare JSON array
	paged bool
	view  func(c *call, e P) (string, any)
	order func([]P) // list order; nil keeps id order
}

func (v *viewed[T, P]) routes(tag, what, base, param string, formats ...Format) []Route {
	member := base + "/{" + param + "}"
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: what + " List", Formats: formats, handle: v.list},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: what + " Create", Formats: formats, Status: http.StatusCreated, handle: v.create},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: what + " Read", Formats: formats, handle: v.read(param)},
		{Method: http.MethodPut, Path: member, Tag: tag, Summary: what + " Update", Formats: formats, handle: v.update(param)},
		{Method: http.MethodPatch, Path: member, Tag: tag, Summary: what + " Update", Formats: formats, handle: v.update(param)},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: what + " Delete", Formats: formats, handle: v.col.remove(param)},
	}
}

func (v *viewed[T, P]) list(c *call) error {
	s := c.snapshot()
	belongs, _, err := v.col.scoped(c, s)
	if err != nil {
		return err
	}
	items := v.col.table(s).Filter(belongs)
	if v.order != nil {
		v.order(items)
	}
	if v.paged {
		if items, err = page(c, items); err != nil {
			return err
		}
	}
	out := make([]viewItem, len(items))
	for i, e := range items {
		out[i].name, out[i].v = v.view(c, e)
	}
	return writeViewList(c, v.many, out)
}

func (v *viewed[T, P]) read(param string) func(*call) error {
	return func(c *call) error {
		e, err := v.col.find(c, c.snapshot(), param)
		if err != nil {
			return err
		}
		return c.one(v.view(c, e))
	}
}

func (v *viewed[T, P]) create(c *call) error {
	col := v.col
	var n P
	_, err := c.update(func(tx *composition.Tx) error {
		_, attach, err := col.scoped(c, tx.View())
		if err != nil {
			return err
		}
		n = P(new(T))
		if col.defaults != nil {
			col.defaults(n)
		}
		if err := c.bind(n, true); err != nil {
			return err
		}
		attach(n) // the path wins over parameters
		if col.prepare != nil {
			if err := col.prepare(c, tx, n, nil); err != nil {
				return err
			}
		}
		return tx.Create(n)
	})
	if err != nil {
		return err
	}
	return c.one(v.view(c, n))
}

func (v *viewed[T, P]) update(param string) func(*call) error {
	return func(c *call) error {
		n, err := v.col.modify(c, param, func(tx *composition.Tx, n, old P) error {
			if err := c.bind(n, false); err != nil {
				return err
			}
			if v.col.prepare != nil {
				return v.col.prepare(c, tx, n, old)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return c.one(v.view(c, n))
	}
}

type viewItem struct {
	name string
	v    any
}

// writeViewList writes {"many":[{"name":{...}},...]} (a bare array when many
// is "") or <many><name>...</name>...</many>, each item under its own name:
// 3scale's XML metric lists mix <metric> and <method>.
func writeViewList(c *call, many string, items []viewItem) error {
	enc := c.encoder()
	header := []byte(xml.Header[:len(xml.Header)-1])
	Write(c.w, c.format, c.status(), func(w io.Writer) error {
		var buf bytes.Buffer
		switch {
		case c.format == XML:
			buf.Write(header)
			buf.WriteString("<" + many + ">")
		case many != "":
			buf.WriteString(`{`)
			writeJSONString(&buf, many)
			buf.WriteString(`:[`)
		default:
			buf.WriteString(`[`)
		}
		for i, it := range items {
			var one bytes.Buffer
			if err := enc.One(&one, it.name, it.v); err != nil {
				return err
			}
			if c.format == XML {
				buf.Write(bytes.TrimPrefix(one.Bytes(), header))
				continue
			}
			if i > 0 {
				buf.WriteString(`,`)
			}
			buf.Write(one.Bytes())
		}
		switch {
		case c.format == XML:
			buf.WriteString("</" + many + ">")
		case many != "":
			buf.WriteString(`]}`)
		default:
			buf.WriteString(`]`)
		}
		_, err := w.Write(buf.Bytes())
		return err
	})
	return nil
}
