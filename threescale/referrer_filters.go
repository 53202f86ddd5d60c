package threescale

import (
	"net/http"
	"slices"
	"time"

	"github.com/portolan/portolan/composition"
)

// Application referrer filters, as porta's
// BuyerApplicationReferrerFiltersController serves them: the domains and IPs
// an application's calls may come from. Creating or deleting one answers the
// application.

func (a *API) referrerFilterRoutes() []Route {
	const tag = "Account Applications"
	formats := []Format{JSON, XML}
	base := "/admin/api/accounts/{account_id}/applications/{application_id}/referrer_filters"
	apps := accountApps()
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "Application Referrer Filter List", Formats: formats,
			handle: listReferrerFilters(apps)},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "Application Referrer Filter Create", Formats: formats,
			Status: http.StatusCreated, handle: apps.change("application_id", addReferrerFilter)},
		{Method: http.MethodDelete, Path: base + "/{id}", Tag: tag, Summary: "Application Referrer Filter Delete", Formats: formats,
			handle: apps.change("application_id", removeReferrerFilter)},
	}
}

// referrerFilterXML is a filter in ReferrerFilter#to_xml's order; JSON uses
// composition.ReferrerFilter's (id, value, created_at, updated_at).
type referrerFilterXML struct {
	Value     string    `json:"value"`
	ID        int64     `json:"id"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedAt time.Time `json:"created_at"`
}

func listReferrerFilters(apps *appCollection) func(*call) error {
	return func(c *call) error {
		app, err := apps.find(c, c.snapshot(), "application_id")
		if err != nil {
			return err
		}
		items := make([]viewItem, len(app.ReferrerFilters))
		for i, f := range app.ReferrerFilters {
			items[i].name = "referrer_filter"
			if c.format == XML {
				items[i].v = referrerFilterXML{Value: f.Value, ID: f.ID, UpdatedAt: f.UpdatedAt, CreatedAt: f.CreatedAt}
			} else {
				items[i].v = f
			}
		}
		return writeViewList(c, "referrer_filters", items)
	}
}

// addReferrerFilter adds the referrer_filter parameter, checked as porta's
// ReferrerFilter checks it.
func addReferrerFilter(c *call, tx *composition.Tx, n, _ *composition.Application) error {
	value, _ := c.params.Get("referrer_filter")
	v := &composition.ValidationError{}
	if msg := composition.CheckReferrerFilter(value); msg != "" {
		v.Add("value", msg)
	} else if slices.ContainsFunc(n.ReferrerFilters, func(f composition.ReferrerFilter) bool { return f.Value == value }) {
		v.Add("value", "has already been taken")
	}
	if len(n.ReferrerFilters) >= composition.MaxReferrerFilters {
		v.Add("base", "limit reached")
	}
	if err := v.Err(); err != nil {
		return err
	}
	now := tx.Now()
	// n shares its slice with the snapshot: append to a copy.
	n.ReferrerFilters = append(slices.Clone(n.ReferrerFilters),
		composition.ReferrerFilter{ID: tx.NextID(), Value: value, CreatedAt: now, UpdatedAt: now})
	return nil
}

// removeReferrerFilter deletes the filter {id} of the application; an unknown
// one is 404.
func removeReferrerFilter(c *call, _ *composition.Tx, n, _ *composition.Application) error {
	id, err := c.id("id")
	if err != nil {
		return err
	}
	i := slices.IndexFunc(n.ReferrerFilters, func(f composition.ReferrerFilter) bool { return f.ID == id })
	if i < 0 {
		return ErrNotFound
	}
	n.ReferrerFilters = slices.Delete(slices.Clone(n.ReferrerFilters), i, i+1)
	return nil
}
