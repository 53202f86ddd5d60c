package console

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// The traffic page, /ui/traffic: every service's hits over the last hour
// and day and the busiest applications; with ?service={id}, that service's
// charts (traffic_series.go), its busiest applications and their usage
// against their plans' limits (traffic_limits.go); with &app={id} too, one
// application's. It reads the hits metric of each service.

// topApps is how many applications the "top applications" tables list.
const topApps = 10

// appTraffic is one application's hits over the window.
type appTraffic struct {
	ID                  int64
	Name, Account, Plan string
	Service             string
	ServiceID           int64
	Hour, Day           int64
	URL                 string
	series              series
	app                 *composition.Application // nil when deleted since
}

// serviceTraffic is a service's line on the overview.
type serviceTraffic struct {
	ID        int64
	Name      string
	URL       string
	Hour, Day int64
}

type trafficOverview struct {
	Services []serviceTraffic // this page's
	Page     pageInfo
	Top      []appTraffic
}

type trafficService struct {
	Service          *composition.Service
	App              *appTraffic // set on an application's page
	HourChart        Chart
	DayChart         Chart
	Top              []appTraffic
	Limits           []limitUsage
	LimitsCut        int // rows left out of Limits
	NoUsageAvailable bool
}

// serveTraffic serves the overview, a service's traffic or an application's.
func (c *Console) serveTraffic(w http.ResponseWriter, r *http.Request, base Page) {
	if !c.sessionAllows(r.Context(), composition.ScopeStats) {
		c.render(w, http.StatusForbidden, "composition_missing", Page{CSRF: base.CSRF, Title: "Traffic needs the stats scope", Nav: "traffic",
			Data: missingPage{What: "Traffic is what the Analytics API shows, to access tokens with the stats scope only: " +
				"this session's token lacks it. Log out and log in with a token that has both account_management and stats.",
				Back: Prefix + "services", BackText: "The composition"}})
		return
	}
	if c.cfg.Usage == nil {
		c.render(w, http.StatusOK, "traffic", Page{CSRF: base.CSRF, Title: "Traffic", Nav: "traffic",
			Data: trafficService{NoUsageAvailable: true}})
		return
	}
	snap, now := c.cfg.Snapshot(), c.cfg.Now()
	win := windowAt(now)
	q := r.URL.Query()
	if !q.Has("service") {
		c.serveTrafficOverview(w, r, base, snap, now, win)
		return
	}
	s := c.serviceFrom(w, base, snap, q.Get("service"), Prefix+"traffic", "Traffic of all services")
	if s == nil {
		return
	}
	hits, _ := snap.Hits(composition.OwnerService, s.ID)
	totals := c.cfg.Usage.Totals(s.ID, now)
	apps, err := c.trafficOf(snap, s, hits, totals, win)
	if err != nil {
		c.usageFailed(w, err)
		return
	}
	page := trafficService{Service: s}
	title := "Traffic of " + s.Name
	if raw := q.Get("app"); raw != "" {
		a := findApp(snap, s, raw, apps)
		if a == nil {
			c.render(w, http.StatusNotFound, "composition_missing", Page{CSRF: base.CSRF, Title: "Application not found", Nav: "traffic",
				Data: missingPage{What: "Service " + s.Name + " has no application with the id " + strconv.Quote(raw) + ".",
					Back: Prefix + "traffic?service=" + strconv.FormatInt(s.ID, 10), BackText: "Traffic of " + s.Name}})
			return
		}
		page.App, title = a, "Traffic of "+a.Name
		page.HourChart, page.DayChart = charts(a.Name, a.series, win)
		page.Limits, page.LimitsCut = limitsOf(snap, []appTraffic{*a}, totals, true)
		c.render(w, http.StatusOK, "traffic", Page{CSRF: base.CSRF, Title: title, Nav: "traffic", Data: page})
		return
	}
	var sr series
	if hits != nil {
		if sr, err = c.serviceSeries(s.ID, hits.ID, apps, win); err != nil {
			c.usageFailed(w, err)
			return
		}
	} else {
		sr = series{hour: make([]int64, hourBars), day: make([]int64, dayBars)}
	}
	page.HourChart, page.DayChart = charts(s.Name, sr, win)
	page.Top = top(apps)
	page.Limits, page.LimitsCut = limitsOf(snap, apps, totals, false)
	c.render(w, http.StatusOK, "traffic", Page{CSRF: base.CSRF, Title: title, Nav: "traffic", Data: page})
}

// serveTrafficOverview serves the overview: one page of the services, by
// name, with their hits (paged as /ui/services is, so a provider of
// thousands of services gets a bounded page), and the busiest applications
// of every service.
func (c *Console) serveTrafficOverview(w http.ResponseWriter, r *http.Request, base Page, snap *composition.Snapshot, now time.Time, win window) {
	services := servicesByName(snap)
	page := servicesPageOf(r, len(services), Prefix+"traffic")
	lo, hi := page.bounds()
	ov := trafficOverview{Page: page}
	var all []appTraffic
	for i, s := range services {
		onPage := i >= lo && i < hi
		st := serviceTraffic{ID: s.ID, Name: s.Name, URL: Prefix + "traffic?service=" + strconv.FormatInt(s.ID, 10)}
		if hits, ok := snap.Hits(composition.OwnerService, s.ID); ok {
			apps, err := c.trafficOf(snap, s, hits, c.cfg.Usage.Totals(s.ID, now), win)
			if err != nil {
				c.usageFailed(w, err)
				return
			}
			all = append(all, apps...)
			if onPage {
				for _, a := range apps {
					st.Hour = composition.AddSaturating(st.Hour, a.Hour)
				}
				day, err := c.cfg.Usage.ServiceSums(s.ID, hits.ID, []time.Time{win.hours[0], win.hours[dayBars]})
				if err != nil {
					c.usageFailed(w, err)
					return
				}
				st.Day = day[0]
			}
		}
		if onPage {
			ov.Services = append(ov.Services, st)
		}
	}
	ov.Top = top(all)
	c.render(w, http.StatusOK, "traffic_overview", Page{CSRF: base.CSRF, Title: "Traffic", Nav: "traffic", Data: ov})
}

// trafficOf reads the hits of every application of s that has ever been
// counted (those with a counter in totals: the eternity counter is never
// zero once an application made a call), deleted ones included, so the
// service's sums miss nobody.
func (c *Console) trafficOf(snap *composition.Snapshot, s *composition.Service, hits *composition.Metric,
	totals []registry.UsageTotal, win window) ([]appTraffic, error) {
	if hits == nil {
		return nil, nil
	}
	seen := map[int64]bool{}
	var out []appTraffic
	for _, t := range totals {
		if seen[t.ApplicationID] {
			continue
		}
		seen[t.ApplicationID] = true
		a := describeApp(snap, s, t.ApplicationID)
		sr, err := c.appSeries(t.ApplicationID, hits.ID, win)
		if err != nil {
			return nil, err
		}
		a.series, a.Hour, a.Day = sr, sr.hourTotal(), sr.dayTotal()
		out = append(out, a)
	}
	return out, nil
}

// findApp returns the application raw names among apps, or, when it has no
// traffic yet, from the composition with empty series.
func findApp(snap *composition.Snapshot, s *composition.Service, raw string, apps []appTraffic) *appTraffic {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil
	}
	for i := range apps {
		if apps[i].ID == id {
			return &apps[i]
		}
	}
	if app, ok := snap.Applications.Get(id); !ok || app.ServiceID != s.ID {
		return nil
	}
	a := describeApp(snap, s, id)
	a.series = series{hour: make([]int64, hourBars), day: make([]int64, dayBars)}
	return &a
}

// describeApp names application id of s, its account and plan, for the
// tables; an application deleted since it was counted keeps its id.
func describeApp(snap *composition.Snapshot, s *composition.Service, id int64) appTraffic {
	a := appTraffic{ID: id, Service: s.Name, ServiceID: s.ID,
		Name: "deleted application #" + strconv.FormatInt(id, 10),
		URL:  Prefix + "traffic?service=" + strconv.FormatInt(s.ID, 10) + "&app=" + strconv.FormatInt(id, 10)}
	app, ok := snap.Applications.Get(id)
	if !ok {
		return a
	}
	a.app, a.Name = app, app.Name
	if acc, ok := snap.Accounts.Get(app.AccountID); ok {
		a.Account = acc.OrgName
	}
	if pl, ok := snap.ApplicationPlans.Get(app.PlanID); ok {
		a.Plan = pl.Name
	}
	return a
}

// top returns the topApps busiest applications: by hits over the day, then
// over the hour, then by name.
func top(apps []appTraffic) []appTraffic {
	apps = slices.Clone(apps)
	apps = slices.DeleteFunc(apps, func(a appTraffic) bool { return a.Day == 0 && a.Hour == 0 })
	slices.SortFunc(apps, func(a, b appTraffic) int {
		return cmp.Or(cmp.Compare(b.Day, a.Day), cmp.Compare(b.Hour, a.Hour), strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return apps[:min(len(apps), topApps)]
}

// charts draws the hour's and the day's charts of name's series.
func charts(name string, s series, w window) (hour, day Chart) {
	return barChart("Hits of "+name+" in the last hour, per 5 minutes (UTC)", w.hourLabels(), s.hour),
		barChart("Hits of "+name+" in the last 24 hours, per hour (UTC)", w.dayLabels(), s.day)
}

// usageFailed answers a failed read of the usage store.
func (c *Console) usageFailed(w http.ResponseWriter, err error) {
	c.cfg.Logger.Error().Err(err).Msg("console: reading usage failed")
	http.Error(w, "console: usage could not be read; see the coordinator's log", http.StatusInternalServerError)
}
