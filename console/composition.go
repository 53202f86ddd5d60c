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

// The composition pages: /ui/services lists the services, /ui/services/{id}
// shows one with its metrics, mapping rules, policy chain, plans and
// applications (composition_service.go). Read-only: they read the current
// snapshot and nothing else. No key, token or password is shown: credentials
// go through Mask, policy configuration through maskedJSON, URLs through
// redact.URLMasked.

// serviceRow is one service in the list.
type serviceRow struct {
	ID               int64
	Name, SystemName string
	Backends         []string // backend APIs (name and endpoint) or the proxy's api_backend
	Auth             string
	Plans, Apps      int // stock plans; applications, custom plans' included
	Policies         []string
}

// servicesPage is what /ui/services shows: one page of the services.
type servicesPage struct {
	Rows []serviceRow
	Page pageInfo
}

// servicesPageSize is how many services one page of the list shows.
const servicesPageSize = 100

// servicesByName is every service, by name then id, as the lists of
// services show them.
func servicesByName(snap *composition.Snapshot) []*composition.Service {
	services := snap.Services.All()
	slices.SortFunc(services, func(a, b *composition.Service) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return services
}

// servicesPageOf is the page of n services r asks for, of the list at path.
func servicesPageOf(r *http.Request, n int, path string) pageInfo {
	return pageOf("services", pageParam(r.URL.Query()), n, servicesPageSize, func(k int) string {
		if k == 1 {
			return path
		}
		return path + "?page=" + strconv.Itoa(k)
	})
}

// serveServices serves the list of services, a page at a time.
func (c *Console) serveServices(w http.ResponseWriter, r *http.Request, base Page) {
	snap := c.cfg.Snapshot()
	services := servicesByName(snap)
	page := servicesPageOf(r, len(services), Prefix+"services")
	lo, hi := page.bounds()
	rows := make([]serviceRow, 0, hi-lo)
	for _, s := range services[lo:hi] {
		row := serviceRow{ID: s.ID, Name: s.Name, SystemName: s.SystemName,
			Auth: authMode(s), Backends: backendsOf(snap, s.ID), Apps: snap.Applications.CountUnder(s.ID)}
		for _, p := range snap.PlansOf(s.ID) {
			if !p.Custom {
				row.Plans++
			}
		}
		if p, ok := snap.Proxies.Get(s.ID); ok {
			for _, pc := range p.PolicyChain {
				row.Policies = append(row.Policies, pc.Name)
			}
		}
		rows = append(rows, row)
	}
	c.render(w, http.StatusOK, "services", Page{CSRF: base.CSRF, Title: "Services", Nav: "services",
		Data: servicesPage{Rows: rows, Page: page}})
}

// authMode names how a service's applications authenticate.
func authMode(s *composition.Service) string {
	switch s.BackendVersion {
	case "1":
		return "API key (user_key)"
	case "2":
		return "App ID and App Key"
	case "oidc":
		return "OpenID Connect"
	}
	return s.BackendVersion
}

// backendsOf describes where a service's traffic goes: each backend API it
// uses (name, private endpoint, mount path), or the proxy's api_backend for
// a service without backend usages.
func backendsOf(snap *composition.Snapshot, serviceID int64) []string {
	var out []string
	for _, u := range snap.BackendUsages.Under(serviceID) {
		b, ok := snap.BackendAPIs.Get(u.BackendAPIID)
		if !ok {
			continue
		}
		out = append(out, b.Name+" → "+redact.URLMasked(b.PrivateEndpoint)+" at "+u.Path)
	}
	if len(out) == 0 {
		if p, ok := snap.Proxies.Get(serviceID); ok && p.APIBackend != "" {
			out = append(out, redact.URLMasked(p.APIBackend))
		}
	}
	return out
}

// missingPage is the 404 of a console page: what was not found, and where
// to go back to.
type missingPage struct {
	What     string
	Back     string
	BackText string
}

// serviceFrom returns the service whose id raw is, or writes the 404 page
// (linking back to back) and returns nil.
func (c *Console) serviceFrom(w http.ResponseWriter, base Page, snap *composition.Snapshot, raw, back, backText string) *composition.Service {
	id, err := strconv.ParseInt(raw, 10, 64)
	s, ok := snap.Services.Get(id)
	if err != nil || !ok {
		c.render(w, http.StatusNotFound, "composition_missing", Page{CSRF: base.CSRF, Title: "Service not found", Nav: "services",
			Data: missingPage{What: "No service has the id " + strconv.Quote(raw) + ".", Back: back, BackText: backText}})
		return nil
	}
	return s
}
