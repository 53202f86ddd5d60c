package console

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/registry"
)

// mapView is what templates/map.html receives: one page of the filtered
// map, grouped by service, with the counts of the whole filtered fleet.
type mapView struct {
	Filter   mapFilter
	Services []string // the filter's choices
	Plans    []string
	Statuses []string
	Counts   []statusCount // by status, of every instance the filter keeps, status aside
	Total    int           // instances the filter keeps
	Groups   []mapGroup    // this page's instances, by service
	Page     int
	Pages    int
	Pager    []pageLink
	Index    uint64 // the registry index the page was drawn at
	Events   string // the event stream's address for this page
}

type statusCount struct {
	Status string
	N      int
}

// mapGroup is one service's instances on the page.
type mapGroup struct {
	Name       string
	Plans      []registry.PlanRef
	Placements []registry.MapPlacement
	Total      int // of the service, under the filter
	Instances  []instanceRow
}

// instanceRow is an instance as a row of the map.
type instanceRow struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Address      string `json:"-"`
	Age          string `json:"age"`
	Labels       string `json:"-"`
	Plans        string `json:"-"`
	Placements   string `json:"-"`
	AgentVersion string `json:"-"`
}

// mapPage serves GET /ui/ and /ui/map.
func (c *Console) mapPage(w http.ResponseWriter, r *http.Request, p Page) {
	f := parseMapFilter(r.URL.Query())
	p.Title, p.Nav, p.Data = "Service map", "map", buildMapView(c.cfg.Map, f)
	c.render(w, http.StatusOK, "map", p)
}

// buildMapView draws page f.Page of the map under f from one read that
// copies no more than the page: the page's instances, and the counts of
// the fleet the filter keeps with the service and status filters applied
// here, so that the choices and counts beside the page stay whole. A page
// past the last is drawn again as the last.
func buildMapView(src Map, f mapFilter) mapView {
	counts := f.registryQuery()
	page := counts
	page.Service, page.Status, page.Limit, page.Offset = f.Service, f.Status, mapPageSize, (f.Page-1)*mapPageSize
	m, sum := src.MapPageSummary(page, counts)
	v := mapView{Filter: f, Statuses: mapStatuses, Index: sum.Index}
	byStatus := map[string]int{}
	totals := map[string]int{} // by service, under the whole filter
	plans := map[string]bool{}
	for _, s := range sum.Services {
		v.Services = append(v.Services, s.Name)
		for _, p := range s.Plans {
			if p.Plan != "" {
				plans[p.Plan] = true
			}
		}
		if f.Service != "" && s.Name != f.Service {
			continue
		}
		for st, n := range s.Statuses {
			byStatus[st] += n
		}
		totals[s.Name] = s.Instances
		if f.Status != "" {
			totals[s.Name] = s.Statuses[f.Status]
		}
		v.Total += totals[s.Name]
	}
	v.Plans = slices.Sorted(maps.Keys(plans))
	for _, st := range mapStatuses {
		v.Counts = append(v.Counts, statusCount{Status: st, N: byStatus[st]})
	}
	v.Pages = max(1, (v.Total+mapPageSize-1)/mapPageSize)
	v.Page = min(f.Page, v.Pages)
	if v.Page != f.Page {
		page.Offset = (v.Page - 1) * mapPageSize
		m = src.MapPage(page)
	}
	for _, s := range m.Services {
		if len(s.Instances) == 0 {
			continue
		}
		g := mapGroup{Name: s.Name, Plans: s.Plans, Placements: s.Placements, Total: totals[s.Name]}
		for _, in := range s.Instances {
			g.Instances = append(g.Instances, rowOf(in))
		}
		v.Groups = append(v.Groups, g)
	}
	v.Filter.Page = v.Page
	v.Pager = pageLinks(v.Page, v.Pages, f.pageURL)
	qs := f.query()
	qs.Set("page", strconv.Itoa(v.Page))
	v.Events = Prefix + "events?" + qs.Encode()
	return v
}

// rowOf flattens an instance for the table.
func rowOf(in registry.MapInstance) instanceRow {
	labels := make([]string, 0, len(in.Labels))
	for _, k := range slices.Sorted(maps.Keys(in.Labels)) {
		labels = append(labels, k+"="+in.Labels[k])
	}
	plans := make([]string, len(in.Plans))
	for i, p := range in.Plans {
		plans[i] = p.SystemName
	}
	addr := in.Address
	if in.Port != 0 {
		addr += ":" + strconv.Itoa(in.Port)
	}
	return instanceRow{
		ID: in.ID, Status: in.Status, Address: addr, Age: age(time.Duration(in.Age)),
		Labels: strings.Join(labels, " "), Plans: strings.Join(plans, " "),
		Placements: strings.Join(in.Placements, " "), AgentVersion: in.AgentVersion,
	}
}

// age shows a duration to the second.
func age(d time.Duration) string {
	return d.Round(time.Second).String()
}
