package console

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/redact"
)

// Bounds of the lists a service's page shows whole rather than a page at a
// time (only applications grow into the thousands in practice): the first
// rows are shown, and how many more there are.
const (
	maxRows     = 500 // metrics, mapping rules
	maxPlans    = 50
	maxPlanRows = 100 // a plan's limits, its pricing rules
)

// servicePage is what /ui/services/{id} shows.
type servicePage struct {
	Service  *composition.Service
	Auth     string
	Backends []string
	Endpoint string // the production public endpoint
	Sandbox  string
	OIDC     string // the OIDC issuer, its password redacted
	CredsIn  string // where the gateway reads credentials
	Metrics  []metricRow
	Rules    []ruleRow
	Policies []policyRow
	Plans    []planView
	// Rows left out of the lists shown whole (maxRows, maxPlans): the
	// Account Management API lists them all.
	MetricsCut, RulesCut, PlansCut int
	Accounts                       []accountView // this page's applications, by account
	AppsTotal                      int
	Apps                           pageInfo
}

type metricRow struct {
	Name, SystemName, Unit, Owner string
	Method                        bool
	Parent                        string
}

type ruleRow struct {
	Owner, Method, Pattern, Metric string
	Delta, Position                int64
	Last                           bool
}

type policyRow struct {
	Name, Version string
	Enabled       bool
	Configuration string // pretty JSON, secrets masked
}

type planView struct {
	Name, SystemName, State string
	Default, Custom         bool
	Approval                bool
	SetupFee, CostPerMonth  string
	TrialDays               int64
	Limits                  []limitRow
	Pricing                 []pricingRow
	LimitsCut, PricingCut   int
}

type limitRow struct {
	Metric, Period string
	Value          int64
}

type pricingRow struct {
	Metric, CostPerUnit string
	Min                 int64
	Max                 string // "" is no upper bound
}

type accountView struct {
	Name, State string
	Continued   bool // the account's first applications are on the page before
	Apps        []appRow
}

// appRow is an application with its credentials masked: Mask keeps two
// characters, enough to tell keys apart, and no key is shown whole.
type appRow struct {
	ID                  int64
	Name, State, Plan   string
	UserKey, AppID      string // masked
	Keys                []string
	Created, TrafficURL string
}

// serveService serves one service's composition.
func (c *Console) serveService(w http.ResponseWriter, r *http.Request, base Page) {
	snap := c.cfg.Snapshot()
	s := c.serviceFrom(w, base, snap, r.PathValue("id"), Prefix+"services", "All services")
	if s == nil {
		return
	}
	p := servicePage{Service: s, Auth: authMode(s), Backends: backendsOf(snap, s.ID)}
	if px, ok := snap.Proxies.Get(s.ID); ok {
		p.Endpoint, p.Sandbox = redact.URLMasked(px.Endpoint), redact.URLMasked(px.SandboxEndpoint)
		p.OIDC, p.CredsIn = redact.URLMasked(px.OIDCIssuerEndpoint), px.CredentialsLocation
		for _, pc := range px.PolicyChain {
			p.Policies = append(p.Policies, policyRow{Name: pc.Name, Version: pc.Version, Enabled: pc.Enabled,
				Configuration: maskedJSON(pc.Configuration)})
		}
	}
	p.Metrics, p.Rules = metricsAndRules(snap, s.ID)
	p.Metrics, p.MetricsCut = capped(p.Metrics, maxRows)
	p.Rules, p.RulesCut = capped(p.Rules, maxRows)
	p.Plans, p.PlansCut = capped(plansOf(snap, s.ID), maxPlans)
	p.Accounts, p.Apps = appsOf(snap, s.ID, pageParam(r.URL.Query()))
	p.AppsTotal = p.Apps.Total
	c.render(w, http.StatusOK, "service", Page{CSRF: base.CSRF, Title: "Service " + s.Name, Nav: "services", Data: p})
}

// metricsAndRules lists a service's own metrics and methods and those of the
// backend APIs it uses, and the mapping rules of both, owner by owner.
func metricsAndRules(snap *composition.Snapshot, serviceID int64) ([]metricRow, []ruleRow) {
	type owner struct {
		kind string
		id   int64
		name string
	}
	owners := []owner{{composition.OwnerService, serviceID, "this service"}}
	for _, u := range snap.BackendUsages.Under(serviceID) {
		if b, ok := snap.BackendAPIs.Get(u.BackendAPIID); ok {
			owners = append(owners, owner{composition.OwnerBackendAPI, b.ID, "backend " + b.Name})
		}
	}
	var metrics []metricRow
	var rules []ruleRow
	for _, o := range owners {
		for _, m := range snap.MetricsOf(o.kind, o.id) {
			row := metricRow{Name: m.FriendlyName, SystemName: m.SystemName, Unit: m.Unit, Owner: o.name, Method: m.IsMethod()}
			if parent, ok := snap.Metrics.Get(m.ParentID); ok && m.IsMethod() {
				row.Parent = parent.SystemName
			}
			metrics = append(metrics, row)
		}
		for _, r := range snap.MappingRulesOf(o.kind, o.id) {
			rules = append(rules, ruleRow{Owner: o.name, Method: r.HTTPMethod, Pattern: r.Pattern,
				Metric: metricName(snap, r.MetricID), Delta: r.Delta, Position: r.Position, Last: r.Last})
		}
	}
	return metrics, rules
}

// metricName is a metric's system name, or its id when it is gone.
func metricName(snap *composition.Snapshot, id int64) string {
	if m, ok := snap.Metrics.Get(id); ok {
		return m.SystemName
	}
	return "#" + strconv.FormatInt(id, 10)
}

// periodOrder sorts limits from the shortest period to the longest.
func periodOrder(p string) int { return slices.Index(composition.Periods, p) }

func plansOf(snap *composition.Snapshot, serviceID int64) []planView {
	var out []planView
	for _, pl := range snap.PlansOf(serviceID) {
		v := planView{Name: pl.Name, SystemName: pl.SystemName, State: pl.State, Default: pl.Default,
			Custom: pl.Custom, Approval: pl.ApprovalRequired, TrialDays: pl.TrialPeriodDays,
			SetupFee: money(pl.SetupFee.Float64()), CostPerMonth: money(pl.CostPerMonth.Float64())}
		limits := snap.UsageLimits.Under(pl.ID)
		slices.SortFunc(limits, func(a, b *composition.UsageLimit) int {
			return cmp.Or(strings.Compare(metricName(snap, a.MetricID), metricName(snap, b.MetricID)),
				cmp.Compare(periodOrder(a.Period), periodOrder(b.Period)))
		})
		for _, l := range limits {
			v.Limits = append(v.Limits, limitRow{Metric: metricName(snap, l.MetricID), Period: l.Period, Value: l.Value})
		}
		rules := snap.PricingRules.Under(pl.ID)
		slices.SortFunc(rules, func(a, b *composition.PricingRule) int {
			return cmp.Or(strings.Compare(metricName(snap, a.MetricID), metricName(snap, b.MetricID)), cmp.Compare(a.Min, b.Min))
		})
		for _, r := range rules {
			row := pricingRow{Metric: metricName(snap, r.MetricID), CostPerUnit: r.CostPerUnit, Min: r.Min}
			if r.Max != 0 {
				row.Max = strconv.FormatInt(r.Max, 10)
			}
			v.Pricing = append(v.Pricing, row)
		}
		v.Limits, v.LimitsCut = capped(v.Limits, maxPlanRows)
		v.Pricing, v.PricingCut = capped(v.Pricing, maxPlanRows)
		out = append(out, v)
	}
	return out
}

func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// appsPageSize is how many applications one page of a service shows: a
// service with 20,000 is read a hundred at a time, with the total above.
const appsPageSize = 100

// appsOf draws page want of a service's applications, by account and then
// by name, grouped by account; only the page's rows are built.
func appsOf(snap *composition.Snapshot, serviceID int64, want int) ([]accountView, pageInfo) {
	type entry struct {
		app     *composition.Application
		account string
	}
	apps := snap.Applications.Under(serviceID)
	names := map[int64]string{}
	entries := make([]entry, len(apps))
	for i, a := range apps {
		name, ok := names[a.AccountID]
		if !ok {
			name = "account #" + strconv.FormatInt(a.AccountID, 10)
			if acc, found := snap.Accounts.Get(a.AccountID); found {
				name = acc.OrgName
			}
			names[a.AccountID] = name
		}
		entries[i] = entry{a, name}
	}
	slices.SortFunc(entries, func(x, y entry) int {
		return cmp.Or(strings.Compare(x.account, y.account), cmp.Compare(x.app.AccountID, y.app.AccountID),
			strings.Compare(x.app.Name, y.app.Name), cmp.Compare(x.app.ID, y.app.ID))
	})
	base := Prefix + "services/" + strconv.FormatInt(serviceID, 10)
	page := pageOf("applications", want, len(entries), appsPageSize, func(n int) string {
		if n == 1 {
			return base + "#apps"
		}
		return base + "?page=" + strconv.Itoa(n) + "#apps"
	})
	lo, hi := page.bounds()
	var out []accountView
	for i := lo; i < hi; i++ {
		a := entries[i].app
		if len(out) == 0 || entries[i-1].app.AccountID != a.AccountID {
			v := accountView{Name: entries[i].account, Continued: i == lo && i > 0 && entries[i-1].app.AccountID == a.AccountID}
			if acc, ok := snap.Accounts.Get(a.AccountID); ok {
				v.State = acc.State
			}
			out = append(out, v)
		}
		out[len(out)-1].Apps = append(out[len(out)-1].Apps, appRowOf(snap, serviceID, a))
	}
	return out, page
}

// appRowOf is an application as a row, its credentials masked.
func appRowOf(snap *composition.Snapshot, serviceID int64, a *composition.Application) appRow {
	row := appRow{ID: a.ID, Name: a.Name, State: a.State, Plan: "#" + strconv.FormatInt(a.PlanID, 10),
		Created:    a.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"),
		TrafficURL: Prefix + "traffic?service=" + strconv.FormatInt(serviceID, 10) + "&app=" + strconv.FormatInt(a.ID, 10)}
	if pl, ok := snap.ApplicationPlans.Get(a.PlanID); ok {
		row.Plan = pl.Name
	}
	if a.UserKey != "" {
		row.UserKey = Mask(a.UserKey)
	}
	if a.AppID != "" {
		row.AppID = Mask(a.AppID)
	}
	for _, k := range a.AppKeys {
		row.Keys = append(row.Keys, Mask(k))
	}
	return row
}
