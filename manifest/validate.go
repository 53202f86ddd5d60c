package manifest

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// validateDocument checks what one document says of itself: names unique
// where 3scale wants them unique, and every reference inside the document
// resolved. What it refers to outside (a backend, a service's plans) is
// checked by validateSet when that document is in the set, else by home.
func validateDocument(d *Document) []error {
	v := &problems{}
	switch {
	case d.Service != nil:
		validateService(v, d.Service)
	case d.Backend != nil:
		known := validateMetrics(v, "metrics", d.Backend.Metrics)
		validateRules(v, "mapping_rules", d.Backend.MappingRules, known)
	case d.Account != nil:
		users := map[string]bool{}
		for i, u := range d.Account.Users {
			v.unique(users, fmt.Sprintf("users[%s].username", label(u.Username, i)), u.Username)
		}
	case d.Placement != nil:
		plans := map[string]bool{}
		for i, p := range d.Placement.Plans {
			v.unique(plans, "plans["+strconv.Itoa(i)+"]", p)
		}
	}
	return v.errs
}

func validateService(v *problems, s *Service) {
	known := validateMetrics(v, "metrics", s.Metrics)
	validateRules(v, "mapping_rules", s.MappingRules, known)
	backends := map[string]bool{}
	for _, u := range s.BackendUsages {
		path := "backend_usages[" + u.Backend + "]"
		v.unique(backends, path+".backend", u.Backend)
		if u.Path != "" && !composition.ValidConfigPath(u.Path) {
			v.add(path+".path", "%q must be a path of at most 255 characters separated by \"/\" (e.g. /v1 or v1/items; no space, ?, #, {} or non-ASCII)", u.Path)
		}
	}
	features := map[string]bool{}
	for _, f := range s.Features {
		v.unique(features, "features["+f.SystemName+"].system_name", f.SystemName)
	}
	if s.Proxy != nil {
		for i, p := range s.Proxy.PolicyChain {
			if len(p.Configuration) > 0 && !json.Valid(p.Configuration) || len(p.Configuration) > 0 && p.Configuration[0] != '{' {
				v.add(fmt.Sprintf("proxy.policy_chain[%d].configuration", i), "must be a mapping")
			}
		}
	}
	plans := map[string]bool{}
	defaults := 0
	for _, p := range s.Plans {
		path := "plans[" + p.SystemName + "]"
		v.unique(plans, path+".system_name", p.SystemName)
		if p.Default {
			if defaults++; defaults == 2 {
				v.add(path+".default", "a second default plan: a service has one at most")
			}
		}
		ref := func(field, metric, backend string) {
			if backend != "" {
				if !backends[backend] {
					v.add(field+".backend", "%q is not a backend the service uses (backend_usages)", backend)
				}
				return
			}
			if !known[metric] {
				v.add(field+".metric", "%q is not a metric or method of the service", metric)
			}
		}
		limits := map[string]bool{}
		for i, l := range p.Limits {
			field := fmt.Sprintf("%s.limits[%d]", path, i)
			ref(field, l.Metric, l.Backend)
			v.unique(limits, field+".period", l.Backend+"/"+l.Metric+"/"+l.Period)
		}
		for i, r := range p.PricingRules {
			field := fmt.Sprintf("%s.pricing_rules[%d]", path, i)
			ref(field, r.Metric, r.Backend)
			if r.Max != 0 && r.Max < r.Min {
				v.add(field+".max", "%d is less than min (%d)", r.Max, r.Min)
			}
		}
		enabled := map[string]bool{}
		for i, f := range p.Features {
			field := fmt.Sprintf("%s.features[%d]", path, i)
			v.unique(enabled, field, f)
			if !features[f] {
				v.add(field, "%q is not a feature of the service", f)
			}
		}
	}
}

// validateMetrics checks an owner's metrics and methods have distinct
// system_names and that only hits has methods; it returns every name a rule,
// limit or pricing rule may use, hits always among them (3scale makes it).
func validateMetrics(v *problems, path string, ms []Metric) map[string]bool {
	known := map[string]bool{}
	for _, m := range ms {
		at := path + "[" + m.SystemName + "]"
		v.unique(known, at+".system_name", m.SystemName)
		if len(m.Methods) > 0 && m.SystemName != "hits" {
			v.add(at+".methods", "only hits has methods")
		}
		for _, x := range m.Methods {
			v.unique(known, at+".methods["+x.SystemName+"].system_name", x.SystemName)
		}
	}
	known["hits"] = true
	return known
}

func validateRules(v *problems, path string, rules []MappingRule, known map[string]bool) {
	for i, r := range rules {
		at := fmt.Sprintf("%s[%d]", path, i)
		if !known[r.Metric] {
			v.add(at+".metric", "%q is not a metric or method of its owner", r.Metric)
		}
		if _, err := composition.ParsePattern(r.Pattern); err != nil {
			v.add(at+".pattern", "%v", err)
		}
	}
}

// validateSet checks what documents of one set say of each other: one
// document per name and kind, and references into documents of the set.
func validateSet(docs []Document) Errors {
	var errs Errors
	fail := func(d *Document, path, format string, args ...any) {
		errs.add(&Error{Source: d.Origin.Source, Index: d.Origin.Index, Line: d.Origin.Line, Kind: string(d.Kind), Name: d.Name(),
			Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]*Document{}
	services, backends := map[string]*Service{}, map[string]*Backend{}
	users := map[string]*Document{}
	var defaultPlan *Document
	for i := range docs {
		d := &docs[i]
		key := string(d.Kind) + "/" + d.Name()
		if first, dup := seen[key]; dup {
			fail(d, nameField(d.Kind), "%q is declared twice: also %s document %d", d.Name(), first.Origin.Source, first.Origin.Index)
			continue
		}
		seen[key] = d
		switch {
		case d.Service != nil:
			services[d.Service.SystemName] = d.Service
		case d.Backend != nil:
			backends[d.Backend.SystemName] = d.Backend
		case d.AccountPlan != nil && d.AccountPlan.Default:
			if defaultPlan != nil {
				fail(d, "default", "a second default account plan: also %s document %d (%q)", defaultPlan.Origin.Source, defaultPlan.Origin.Index, defaultPlan.Name())
			}
			defaultPlan = d
		case d.Account != nil:
			for _, u := range d.Account.Users {
				if first, dup := users[u.Username]; dup && first != d {
					fail(d, "users["+u.Username+"].username", "%q is taken: also in %s document %d", u.Username, first.Origin.Source, first.Origin.Index)
				}
				users[u.Username] = d
			}
		}
	}
	for i := range docs {
		d := &docs[i]
		switch {
		case d.Service != nil:
			for _, p := range d.Service.Plans {
				for j, l := range p.Limits {
					if msg := backendMetric(backends, l.Backend, l.Metric); msg != "" {
						fail(d, fmt.Sprintf("plans[%s].limits[%d].metric", p.SystemName, j), "%s", msg)
					}
				}
				for j, r := range p.PricingRules {
					if msg := backendMetric(backends, r.Backend, r.Metric); msg != "" {
						fail(d, fmt.Sprintf("plans[%s].pricing_rules[%d].metric", p.SystemName, j), "%s", msg)
					}
				}
			}
		case d.Account != nil:
			for j, a := range d.Account.Applications {
				if s, ok := services[a.Service]; ok && !hasPlan(s, a.Plan) {
					fail(d, fmt.Sprintf("applications[%d].plan", j), "%q is not a plan of service %q", a.Plan, a.Service)
				}
			}
		case d.Placement != nil:
			if s, ok := services[d.Placement.Service]; ok {
				for j, p := range d.Placement.Plans {
					if !hasPlan(s, p) {
						fail(d, fmt.Sprintf("plans[%d]", j), "%q is not a plan of service %q", p, s.SystemName)
					}
				}
			}
		}
	}
	return errs
}

// backendMetric checks a metric of a backend in the set; "" when fine or
// when the backend is not in the set (home checks it then).
func backendMetric(backends map[string]*Backend, backend, metric string) string {
	b, ok := backends[backend]
	if backend == "" || !ok || metric == "hits" {
		return ""
	}
	for _, m := range b.Metrics {
		if m.SystemName == metric {
			return ""
		}
		for _, x := range m.Methods {
			if x.SystemName == metric {
				return ""
			}
		}
	}
	return fmt.Sprintf("%q is not a metric or method of backend %q", metric, backend)
}

func hasPlan(s *Service, plan string) bool {
	for _, p := range s.Plans {
		if p.SystemName == plan {
			return true
		}
	}
	return false
}

// problems collects a document's problems, every one: Errors.add lists the
// first maxErrors and counts the rest (a document is bounded by MaxBytes,
// so they are too).
type problems struct{ errs []error }

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, errorf(path, 0, format, args...))
}

// unique records name in seen, reporting it when already there.
func (p *problems) unique(seen map[string]bool, path, name string) {
	if seen[name] {
		p.add(path, "%q is given twice", name)
	}
	seen[name] = true
}

// label names a list element in a path: its name, else its position.
func label(name string, i int) string {
	if name != "" {
		return name
	}
	return strconv.Itoa(i)
}
