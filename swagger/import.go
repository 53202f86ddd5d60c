package swagger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Importing a spec into a service, as the 3scale toolbox's `import openapi`
// does. This file is the pure part: the state wanted from a spec, and the plan
// that turns the state read from the admin API into it. import_api.go reads
// that state and applies plans over HTTP.

// ImportOptions says how a spec becomes a service.
type ImportOptions struct {
	// Service is the service's system_name; "" derives it from the title.
	Service string
	// PrefixMatching leaves the trailing '$' off mapping rules.
	PrefixMatching bool
}

// Object kinds of import actions, as 3scale names them.
const (
	kindService = "service"
	kindProxy   = "proxy"
	kindMethod  = "method"
	kindRule    = "mapping_rule"
	kindDoc     = "active_doc"
)

// Action verbs.
const (
	verbCreate = "create"
	verbUpdate = "update"
	verbDelete = "delete"
)

// ImportAction is one write of an import plan.
type ImportAction struct {
	Verb string // VerbCreate, VerbUpdate or VerbDelete
	Kind string // KindService, KindProxy, ...
	Name string // what it acts on: a system_name, or "GET /articles$" for a rule
	ID   int64  // the existing object (update, delete); 0 on create
	// Fields are the parameters written (create, update): on update only
	// those that change.
	Fields url.Values
	// Ids of objects the plan creates, filled in when the action is applied:
	// the service's as an ActiveDoc's service_id, a method's (by
	// system_name) as a mapping rule's metric_id.
	needService bool
	needMetric  string
}

// String renders the action on one line, e.g.
// `create mapping_rule "GET /articles$" delta=1 http_method=GET pattern=/articles$ metric_id=<method listArticles>`.
func (a ImportAction) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %q", a.Verb, a.Kind, a.Name)
	if a.ID != 0 {
		fmt.Fprintf(&b, " (id %d)", a.ID)
	}
	keys := make([]string, 0, len(a.Fields))
	for k := range a.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := a.Fields.Get(k)
		switch {
		case k == "body":
			v = fmt.Sprintf("<%d bytes>", len(v))
		case len(v) > 60:
			v = strconv.Quote(v[:57] + "...")
		case v == "" || strings.ContainsAny(v, " \t\r\n\"="):
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	if a.needMetric != "" {
		fmt.Fprintf(&b, " metric_id=<method %s>", a.needMetric)
	}
	if a.needService {
		b.WriteString(" service_id=<new service>")
	}
	return b.String()
}

// ImportPlan is what an import writes, in order. An empty plan means the
// service already matches the spec.
type ImportPlan struct {
	Service  string // the service's system_name
	Actions  []ImportAction
	Warnings []string // what the import leaves alone, and why
}

// Empty reports whether the plan writes nothing.
func (p *ImportPlan) Empty() bool { return len(p.Actions) == 0 }

// String renders the plan, one action a line.
func (p *ImportPlan) String() string {
	var b strings.Builder
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if p.Empty() {
		fmt.Fprintf(&b, "service %s is up to date: nothing to change\n", p.Service)
		return b.String()
	}
	fmt.Fprintf(&b, "service %s: %d changes\n", p.Service, len(p.Actions))
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	return b.String()
}

// The state of a service as the admin API shows it, in its JSON wire
// format; only the fields an import manages.

type remoteService struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	SystemName     string `json:"system_name"`
	Description    string `json:"description"`
	BackendVersion string `json:"backend_version"`
}

type remoteProxy struct {
	CredentialsLocation string `json:"credentials_location"`
	AuthUserKey         string `json:"auth_user_key"`
	AuthAppID           string `json:"auth_app_id"`
	AuthAppKey          string `json:"auth_app_key"`
	OIDCIssuerEndpoint  string `json:"oidc_issuer_endpoint"`
}

// get returns the proxy field with the given wire name.
func (p *remoteProxy) get(name string) string {
	switch name {
	case "credentials_location":
		return p.CredentialsLocation
	case "auth_user_key":
		return p.AuthUserKey
	case "auth_app_id":
		return p.AuthAppID
	case "auth_app_key":
		return p.AuthAppKey
	case "oidc_issuer_endpoint":
		return p.OIDCIssuerEndpoint
	}
	return ""
}

type remoteMetric struct {
	ID           int64  `json:"id"`
	SystemName   string `json:"system_name"`
	FriendlyName string `json:"friendly_name"`
	Description  string `json:"description"`
}

type remoteRule struct {
	ID         int64  `json:"id"`
	MetricID   int64  `json:"metric_id"`
	HTTPMethod string `json:"http_method"`
	Pattern    string `json:"pattern"`
	Delta      int64  `json:"delta"`
}

type remoteDoc struct {
	ID                     int64  `json:"id"`
	ServiceID              int64  `json:"service_id"`
	Name                   string `json:"name"`
	SystemName             string `json:"system_name"`
	Description            string `json:"description"`
	Published              bool   `json:"published"`
	SkipSwaggerValidations bool   `json:"skip_swagger_validations"`
	Body                   string `json:"body"`
}

// importState is a service as it stands; service is nil when there is no
// service with the wanted system_name (nor, then, any of the rest).
type importState struct {
	service *remoteService
	proxy   remoteProxy
	methods []remoteMetric // the children of hits
	rules   []remoteRule
	doc     *remoteDoc // the ActiveDoc with the service's system_name
}

// planImport compares the state a spec asks for with the state cur and
// returns the writes that turn one into the other, in the order they must be
// applied: the service and its proxy, deletions, methods, mapping rules, the
// ActiveDoc. Nothing that already matches is written.
//
// The methods of removed operations are those the service's ActiveDoc (the
// previous import) has and spec no longer has; they and their mapping rules
// are deleted. Other methods and rules are left alone, except a rule with the
// method and pattern of an operation, which is taken over.
func planImport(spec *Spec, cur *importState, opts ImportOptions) (*ImportPlan, error) {
	t, warnings, err := importTargetOf(spec, opts)
	if err != nil {
		return nil, err
	}
	p := &ImportPlan{Service: t.service.SystemName, Warnings: warnings}
	add := func(verb, kind, name string, id int64, fields url.Values) {
		p.Actions = append(p.Actions, ImportAction{Verb: verb, Kind: kind, Name: name, ID: id, Fields: fields})
	}

	// The service and how it authenticates.
	svc := url.Values{}
	s, old := t.service, cur.service
	if old == nil {
		old = &remoteService{}
		svc.Set("system_name", s.SystemName)
	}
	setIfChanged(svc, "name", s.Name, old.Name)
	setIfChanged(svc, "description", s.Description, old.Description)
	if s.BackendVersion != "" {
		setIfChanged(svc, "backend_version", s.BackendVersion, old.BackendVersion)
	}
	switch {
	case cur.service == nil:
		add(verbCreate, kindService, s.SystemName, 0, svc)
	case len(svc) > 0:
		add(verbUpdate, kindService, s.SystemName, old.ID, svc)
	}
	proxy := url.Values{}
	for _, f := range t.proxy {
		setIfChanged(proxy, f.name, f.value, cur.proxy.get(f.name))
	}
	if len(proxy) > 0 {
		add(verbUpdate, kindProxy, s.SystemName, 0, proxy)
	}

	// Methods: by system_name. previous holds the methods the last import
	// made, read back from its ActiveDoc.
	existing := make(map[string]remoteMetric, len(cur.methods))
	for _, m := range cur.methods {
		existing[m.SystemName] = m
	}
	wanted := make(map[string]bool, len(t.methods))
	for _, m := range t.methods {
		wanted[m.SystemName] = true
	}
	previous, err := previousMethods(cur.doc, opts)
	if err != nil {
		p.Warnings = append(p.Warnings, err.Error())
	}
	managed := make(map[int64]bool) // the ids of the methods the import owns
	var gone []remoteMetric
	goneID := make(map[int64]bool)
	for _, m := range cur.methods {
		switch {
		case wanted[m.SystemName]:
			managed[m.ID] = true
		case previous[m.SystemName]:
			managed[m.ID] = true
			gone = append(gone, m)
			goneID[m.ID] = true
		}
	}

	// Mapping rules: an operation's rule is one with its method and pattern;
	// a managed method's other rules are stale, reused for its missing rules
	// or deleted. A rule of a method being deleted is never taken over: 3scale
	// deletes it with its method, before the rules are written (the methods
	// are deleted first, so that their friendly names are free for new ones),
	// so the rule of a renamed operation is made anew.
	var claimed = make(map[int64]bool)
	var missing []importRule
	var ruleUpdates []ImportAction
	for _, r := range t.rules {
		i := slices.IndexFunc(cur.rules, func(c remoteRule) bool {
			return !claimed[c.ID] && !goneID[c.MetricID] && strings.EqualFold(c.HTTPMethod, r.method) && c.Pattern == r.pattern
		})
		if i < 0 {
			missing = append(missing, r)
			continue
		}
		c := cur.rules[i]
		claimed[c.ID] = true
		a := ImportAction{Verb: verbUpdate, Kind: kindRule, Name: ruleName(r), ID: c.ID, Fields: url.Values{}}
		if m, ok := existing[r.metric]; !ok {
			a.needMetric = r.metric
		} else if m.ID != c.MetricID {
			a.Fields.Set("metric_id", strconv.FormatInt(m.ID, 10))
		}
		if c.Delta != 1 {
			a.Fields.Set("delta", "1")
		}
		if len(a.Fields) > 0 || a.needMetric != "" {
			ruleUpdates = append(ruleUpdates, a)
		}
	}
	var stale []remoteRule
	for _, c := range cur.rules {
		if managed[c.MetricID] && !claimed[c.ID] {
			stale = append(stale, c)
		}
	}
	var ruleCreates []ImportAction
	for _, r := range missing {
		i := -1
		if m, ok := existing[r.metric]; ok {
			i = slices.IndexFunc(stale, func(c remoteRule) bool { return c.MetricID == m.ID })
		}
		if i < 0 {
			a := ImportAction{Verb: verbCreate, Kind: kindRule, Name: ruleName(r),
				Fields: url.Values{"http_method": {r.method}, "pattern": {r.pattern}, "delta": {"1"}}}
			if m, ok := existing[r.metric]; ok {
				a.Fields.Set("metric_id", strconv.FormatInt(m.ID, 10))
			} else {
				a.needMetric = r.metric
			}
			ruleCreates = append(ruleCreates, a)
			continue
		}
		c := stale[i]
		stale = slices.Delete(stale, i, i+1)
		f := url.Values{}
		setIfChanged(f, "http_method", r.method, c.HTTPMethod)
		setIfChanged(f, "pattern", r.pattern, c.Pattern)
		if c.Delta != 1 {
			f.Set("delta", "1")
		}
		ruleUpdates = append(ruleUpdates, ImportAction{Verb: verbUpdate, Kind: kindRule, Name: ruleName(r), ID: c.ID, Fields: f})
	}
	for _, c := range stale {
		add(verbDelete, kindRule, c.HTTPMethod+" "+c.Pattern, c.ID, nil)
	}
	for _, m := range gone {
		add(verbDelete, kindMethod, m.SystemName, m.ID, nil)
	}
	// Methods updated before methods created: friendly names are unique in a
	// service, and a new operation may take the one an existing one gives up.
	var methodCreates []ImportAction
	for _, m := range t.methods {
		old, ok := existing[m.SystemName]
		f := url.Values{}
		setIfChanged(f, "friendly_name", m.FriendlyName, old.FriendlyName)
		setIfChanged(f, "description", m.Description, old.Description)
		switch {
		case !ok:
			f.Set("system_name", m.SystemName)
			methodCreates = append(methodCreates, ImportAction{Verb: verbCreate, Kind: kindMethod, Name: m.SystemName, Fields: f})
		case len(f) > 0:
			add(verbUpdate, kindMethod, m.SystemName, old.ID, f)
		}
	}
	p.Actions = append(p.Actions, methodCreates...)
	p.Actions = append(p.Actions, ruleUpdates...)
	p.Actions = append(p.Actions, ruleCreates...)

	// The ActiveDoc holding the spec.
	d, od := t.doc, cur.doc
	doc := url.Values{}
	if od == nil {
		od = &remoteDoc{}
		doc.Set("system_name", d.SystemName)
		doc.Set("skip_swagger_validations", strconv.FormatBool(d.SkipSwaggerValidations))
	}
	setIfChanged(doc, "name", d.Name, od.Name)
	setIfChanged(doc, "description", d.Description, od.Description)
	setIfChanged(doc, "published", "true", strconv.FormatBool(od.Published))
	if cur.service != nil && od.ServiceID != cur.service.ID {
		doc.Set("service_id", strconv.FormatInt(cur.service.ID, 10))
	}
	if !sameJSON(d.Body, od.Body) {
		doc.Set("body", d.Body)
	}
	if cur.doc == nil || len(doc) > 0 || cur.service == nil {
		verb := verbUpdate
		if cur.doc == nil {
			verb = verbCreate
		}
		p.Actions = append(p.Actions, ImportAction{Verb: verb, Kind: kindDoc, Name: d.SystemName, ID: od.ID, Fields: doc, needService: cur.service == nil})
	}
	return p, nil
}

// previousMethods returns the system_names of the methods the import of the
// spec in doc made; an unreadable spec is an error, and an empty set.
func previousMethods(doc *remoteDoc, opts ImportOptions) (map[string]bool, error) {
	if doc == nil || doc.Body == "" {
		return nil, nil
	}
	prev, err := Parse([]byte(doc.Body), nil) // checked when it was imported; only its methods are read
	if err != nil {
		return nil, fmt.Errorf("the ActiveDoc %s does not hold a readable spec, so methods of removed operations are kept: %v", doc.SystemName, err)
	}
	t, _, err := importTargetOf(prev, opts)
	if err != nil {
		return nil, fmt.Errorf("the spec in ActiveDoc %s cannot be imported, so methods of removed operations are kept: %v", doc.SystemName, err)
	}
	out := make(map[string]bool, len(t.methods))
	for _, m := range t.methods {
		out[m.SystemName] = true
	}
	return out, nil
}

// setIf sets f[k] to want when it differs from have.
func setIfChanged(f url.Values, k, want, have string) {
	if want != have {
		f.Set(k, want)
	}
}

func ruleName(r importRule) string { return r.method + " " + r.pattern }

// sameJSON reports whether a and b are the same JSON document, whatever the
// spacing.
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, []byte(a)) != nil || json.Compact(&cb, []byte(b)) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
