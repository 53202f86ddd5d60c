package threescale

import (
	"strconv"

	"github.com/portolan/portolan/composition"
)

// What porta's JSON representers of limits and pricing rules link to
// (app/representers/usage_limit_representer.rb, pricing_rule_representer.rb
// and metric_links_representer.rb): the metric, with its owner in the path,
// and the plan. The 3scale toolbox reads a limit's or pricing rule's owner
// from that link alone (Entities::Limit#backend_from_metric_link,
// Helper.backend_metric_link_parser: "admin/api/backend_apis/(\d+)/metrics"),
// so without it `3scale product export` and `application-plan export` fail
// on any limit or price of a backend API's metric. XML has no links, as
// porta's to_xml.

// metricHref is MetricLinksRepresenter's "metric" link:
// polymorphic_url([:admin, :api, metric.owner, metric]), and for a method
// [:admin, :api, metric.owner, metric.parent, :methods]; "" when the
// metric is gone.
func metricHref(base string, s *composition.Composition, id int64) string {
	m, ok := s.Metrics.Get(id)
	if !ok {
		return ""
	}
	owner := "/admin/api/services/"
	if m.OwnerType == composition.OwnerBackendAPI {
		owner = "/admin/api/backend_apis/"
	}
	href := base + owner + strconv.FormatInt(m.OwnerID, 10) + "/metrics/"
	if m.IsMethod() {
		return href + strconv.FormatInt(m.ParentID, 10) + "/methods/" + strconv.FormatInt(m.ID, 10)
	}
	return href + strconv.FormatInt(m.ID, 10)
}

// planHref is the "plan" link of a limit or pricing rule of an application
// plan: polymorphic_url([:admin, :api, plan.service, plan]).
func planHref(base string, s *composition.Composition, planID int64) string {
	p, ok := s.ApplicationPlans.Get(planID)
	if !ok {
		return ""
	}
	return base + "/admin/api/services/" + strconv.FormatInt(p.ServiceID, 10) + "/application_plans/" + strconv.FormatInt(p.ID, 10)
}

// ratedLinks are the links of a limit (self given) or a pricing rule (self
// ""), in porta's order: metric, self, plan; nil in XML.
func ratedLinks(c *call, metricID, planID int64, self string) []link {
	if c.format != JSON {
		return nil
	}
	s, base := c.snapshot(), c.baseString()
	var out []link
	if href := metricHref(base, s, metricID); href != "" {
		out = append(out, link{Rel: "metric", Href: href})
	}
	if self != "" {
		out = append(out, link{Rel: "self", Href: base + self})
	}
	if href := planHref(base, s, planID); href != "" {
		out = append(out, link{Rel: "plan", Href: href})
	}
	return out
}
