package manifest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/portolan/portolan/composition"
)

// Desired builds the composition the documents declare: a fresh one,
// written through composition.Tx's create paths, so it holds what 3scale
// would hold after creating those entities through its API, with its
// validation and its defaults (a service's hits metric and proxy settings,
// a plan's state, a mapping rule's position...). Its ids are its own and
// mean nothing outside it: compare it with another composition by names.
//
// References resolve by name to entities of the documents first. What the
// documents refer to but do not declare (an application's service that only
// home has, a backend already at home, an account plan no AccountPlan
// document declares) is looked up in base, which may be nil: the entity is
// carried over from base unchanged, with its id and everything it owns (a
// service with its metrics, rules, usages, plans, limits, pricing rules,
// features and proxy; a backend with its metrics and rules), so a comparison
// by name finds nothing to change in it. A carried service's usage of a
// backend the documents declare points at the declared one, and its plans'
// limits and pricing rules on that backend's metrics follow them by name
// (those on a metric the declared backend lacks go, as 3scale's cascade
// would take them). An account without a plan is put on the default
// account plan, declared or base's, as 3scale's signup does; a carried
// account plan is no default when the documents declare one. Fresh ids are
// above base's, so they never collide with a carried one.
//
// Secrets a document leaves out (application credentials, a proxy's secret
// token, a user's password) are base's for an entity base has by the same
// names, and generated as 3scale generates them for a new one
// (desired_secrets.go). A password the document gives stays as given, plain
// or hashed (base's hash when it matches): a hash made here would differ at
// every call, so hash plain passwords before storing them
// (composition.Document.HashPasswords, or the API's paths). A service's
// version is not part of the composition: the apply engine keeps it.
//
// Desired refuses the documents with Errors, every problem found in
// document order (desired_errors.go), each an *Error naming the document,
// the entity and the field, as Decode does.
// The documents are those Decode or Load accepted; Desired does not modify
// them.
func Desired(docs []Document, base *composition.Composition) (*composition.Composition, error) {
	start := composition.New()
	if base != nil {
		start.LastID = max(start.LastID, base.LastID)
	}
	b := &builder{
		tx: composition.NewTx(start, time.Now()), base: base,
		services: map[string]int64{}, backends: map[string]int64{}, declared: map[string]bool{},
		accountPlans: map[string]int64{},
	}
	malformed := map[int]bool{}
	for i := range docs {
		d := &docs[i]
		if !d.wellFormed() {
			b.doc, b.at, malformed[i] = d, i, true
			b.report(b.errorf("kind", "%q: a document holds one entity, of its kind", d.Kind))
			continue
		}
		if d.Backend != nil {
			b.declared[d.Backend.SystemName] = true
		}
	}
	// Kinds is dependency order: a document refers only to kinds before it.
	for _, k := range Kinds {
		for i := range docs {
			if docs[i].Kind != k || malformed[i] {
				continue
			}
			b.doc, b.at = &docs[i], i
			b.report(b.document(&docs[i]))
		}
	}
	if err := b.refused(); err != nil {
		return nil, err
	}
	return b.tx.Result(), nil
}

// builder is one Desired call: the Tx it writes, and the ids it gave the
// services and backends, declared or carried, by system_name.
type builder struct {
	tx       *composition.Tx
	base     *composition.Composition
	services map[string]int64
	backends map[string]int64
	// declared are the backends the documents declare: a carried service's
	// usage of one points at it.
	declared map[string]bool
	// accountPlans are the account plans the documents declare, by
	// system_name.
	accountPlans map[string]int64
	homeIdx      *homeIndex      // base's accounts, users and applications by name (home)
	doc          *Document       // the document being built, for errors
	at           int             // doc's position in the documents
	problems     []problem       // what the documents are refused for (desired_errors.go)
	failed       map[string]bool // the entities refused, by refused* key: what refers to them is not refused again
}

// document builds d, the current document; what it returns is reported.
func (b *builder) document(d *Document) error {
	switch {
	case d.Backend != nil:
		return b.backend(d.Backend)
	case d.Service != nil:
		return b.service(d.Service)
	case d.AccountPlan != nil:
		return b.declareAccountPlan(d.AccountPlan)
	case d.Account != nil:
		return b.account(d.Account)
	}
	return b.placement(d.Placement)
}

// wellFormed reports whether the document holds its kind's entity and no
// other, as Decode makes them; a document built in code may not.
func (d *Document) wellFormed() bool {
	held := map[Kind]bool{KindService: d.Service != nil, KindBackend: d.Backend != nil,
		KindAccountPlan: d.AccountPlan != nil, KindAccount: d.Account != nil, KindPlacement: d.Placement != nil}
	n := 0
	for _, h := range held {
		if h {
			n++
		}
	}
	return n == 1 && held[d.Kind]
}

func (b *builder) view() *composition.Composition { return b.tx.View() }

// errorf is a problem at path in the current document.
func (b *builder) errorf(path, format string, args ...any) error {
	d := b.doc
	return Errors{&Error{Source: d.Origin.Source, Index: d.Origin.Index, Line: d.Origin.Line, Kind: string(d.Kind), Name: d.Name(),
		Path: path, Msg: fmt.Sprintf(format, args...)}}
}

// fail turns what a composition write refused, for the entity at path in
// the current document, into Errors: one per field of a validation error,
// the composition's wire field named as the document names it.
func (b *builder) fail(path string, err error) error {
	var v *composition.ValidationError
	if errors.As(err, &v) && len(v.Fields) > 0 {
		fields := make([]string, 0, len(v.Fields))
		for f := range v.Fields {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		var es Errors
		for _, f := range fields {
			for _, msg := range v.Fields[f] {
				es = append(es, b.errorf(joinPath(path, documentField(f)), "%s", msg).(Errors)...)
			}
		}
		return es
	}
	var fe *composition.FieldError
	if errors.As(err, &fe) {
		return b.errorf(joinPath(path, documentField(fe.Field)), "%s", fe.Message)
	}
	var nf *composition.NotFoundError
	if errors.As(err, &nf) {
		// Its id is one of Desired's own: meaningless to the reader.
		return b.errorf(path, "the %s it refers to does not exist", nf.Kind)
	}
	return b.errorf(path, "%v", err)
}

// documentField names a composition wire field as documents do.
func documentField(f string) string {
	switch f {
	case "base":
		return ""
	case "metric_id", "parent_id":
		return "metric"
	case "backend_api_id", "backend_id":
		return "backend"
	case "service_id":
		return "service"
	case "plan_id", "plan_ids":
		return "plan"
	case "policies_config":
		return "policy_chain"
	case "featurable_id", "featurable_type", "feature_id", "plan_type":
		return "features"
	}
	return f
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// create writes e, reporting a refusal at path.
func (b *builder) create(path string, e composition.Entity) error {
	if err := b.tx.Create(e); err != nil {
		return b.fail(path, err)
	}
	return nil
}

// update rewrites an entity, reporting a refusal at path.
func (b *builder) update(path string, e composition.Entity) error {
	if err := b.tx.Update(e); err != nil {
		return b.fail(path, err)
	}
	return nil
}

func (b *builder) backend(d *Backend) error {
	api := &composition.BackendAPI{Name: d.Name, SystemName: d.SystemName, Description: d.Description, PrivateEndpoint: d.PrivateEndpoint}
	if err := b.create("", api); err != nil {
		if _, ok := b.backends[d.SystemName]; !ok {
			b.refuse(refusedBackend(d.SystemName))
		}
		return err
	}
	b.backends[d.SystemName] = api.ID
	names := b.metrics(composition.OwnerBackendAPI, api.ID, d.Metrics)
	b.rules(composition.OwnerBackendAPI, api.ID, d.MappingRules, names)
	return nil
}

// metrics writes an owner's metrics and methods: hits, which the owner got
// when it was created, is updated with what the document says of it. It
// returns the owner's metrics' ids by system_name; one refused is reported
// and left out.
func (b *builder) metrics(ownerType string, ownerID int64, ms []Metric) map[string]int64 {
	hits, ok := b.view().Hits(ownerType, ownerID)
	if !ok {
		b.report(b.errorf("metrics", "the hits metric is missing")) // never: creating the owner made it
		return map[string]int64{}
	}
	ids := map[string]int64{"hits": hits.ID}
	for _, m := range ms {
		path := "metrics[" + m.SystemName + "]"
		if m.SystemName == "hits" {
			n := *hits
			n.FriendlyName = orDefault(m.FriendlyName, n.FriendlyName)
			n.Unit = orDefault(m.Unit, n.Unit)
			n.Description = orDefault(m.Description, n.Description)
			if n != *hits {
				b.report(b.update(path, &n))
			}
		} else {
			e := &composition.Metric{OwnerType: ownerType, OwnerID: ownerID, SystemName: m.SystemName,
				FriendlyName: m.FriendlyName, Unit: m.Unit, Description: m.Description}
			if err := b.create(path, e); err != nil {
				b.report(err)
				b.refuse(refusedMetric(ownerType, ownerID, m.SystemName))
			} else {
				ids[m.SystemName] = e.ID
			}
		}
		for _, x := range m.Methods {
			e := &composition.Metric{OwnerType: ownerType, OwnerID: ownerID, ParentID: hits.ID, SystemName: x.SystemName,
				FriendlyName: x.FriendlyName, Unit: x.Unit, Description: x.Description}
			if err := b.create(path+".methods["+x.SystemName+"]", e); err != nil {
				b.report(err)
				b.refuse(refusedMetric(ownerType, ownerID, x.SystemName))
				continue
			}
			ids[x.SystemName] = e.ID
		}
	}
	return ids
}

// rules writes an owner's mapping rules in document order, so that those
// without a position go after the ones before them; each refused is
// reported.
func (b *builder) rules(ownerType string, ownerID int64, rules []MappingRule, metrics map[string]int64) {
	for i, r := range rules {
		path := fmt.Sprintf("mapping_rules[%d]", i)
		id, ok := metrics[r.Metric]
		if !ok {
			b.report(b.missing(refusedMetric(ownerType, ownerID, r.Metric),
				b.errorf(path+".metric", "%q is not a metric or method of its owner", r.Metric)))
			continue
		}
		e := &composition.MappingRule{OwnerType: ownerType, OwnerID: ownerID, MetricID: id,
			HTTPMethod: r.HTTPMethod, Pattern: r.Pattern, Delta: r.Delta, Position: r.Position, Last: r.Last}
		b.report(b.create(path, e))
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (b *builder) placement(d *Placement) error {
	serviceID, err := b.serviceID("service", d.Service)
	if err != nil {
		return err
	}
	p := &composition.Placement{Name: d.Name, ServiceID: serviceID,
		Selector: composition.Selector{Service: d.Selector.Service, Labels: d.Selector.Labels}}
	for i, name := range d.Plans {
		id, err := b.planID(fmt.Sprintf("plans[%d]", i), serviceID, d.Service, name)
		if err != nil {
			b.report(err)
			continue
		}
		p.PlanIDs = append(p.PlanIDs, id)
	}
	if len(p.Selector.Labels) > 0 {
		p.Selector.Labels = maps.Clone(p.Selector.Labels)
	}
	return b.create("", p)
}

// planID resolves a stock plan of a service by system_name.
func (b *builder) planID(path string, serviceID int64, service, name string) (int64, error) {
	p, ok := b.view().ApplicationPlans.Find(func(p *composition.ApplicationPlan) bool {
		return p.ServiceID == serviceID && !p.Custom && p.SystemName == name
	})
	if !ok {
		return 0, b.missing(refusedPlan(serviceID, name), b.errorf(path, "%q is not a plan of service %q", name, service))
	}
	return p.ID, nil
}

// alertLimits converts a document's alert limits to the composition's.
func alertLimits(in []int64) []int {
	var out []int
	for _, l := range in {
		out = append(out, int(l))
	}
	return slices.Clip(out)
}
