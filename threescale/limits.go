package threescale

import (
	"net/http"
	"strconv"

	"github.com/portolan/portolan/composition"
)

func (a *API) limitRoutes() []Route {
	const tag = "Application Plans"
	table := func(c *composition.Composition) *composition.Table[*composition.UsageLimit] { return &c.UsageLimits }
	perMetric := &collection[composition.UsageLimit, *composition.UsageLimit]{
		kind:  composition.KindUsageLimit,
		names: fixedNames("limit", "limits"),
		table: table,
		scope: func(c *call, s *composition.Composition) (func(*composition.UsageLimit) bool, func(*composition.UsageLimit), error) {
			plan, metric, err := planMetricOf(c, s)
			if err != nil {
				return nil, nil, err
			}
			return func(l *composition.UsageLimit) bool { return l.PlanID == plan.ID && l.MetricID == metric },
				func(l *composition.UsageLimit) { l.PlanID, l.MetricID = plan.ID, metric }, nil
		},
		view: limitView,
		prepare: func(c *call, _ *composition.Tx, _, old *composition.UsageLimit) error {
			// A missing value would silently be a limit of 0 calls.
			if old == nil && !c.params.Has("value") {
				return composition.Invalid("value", "can't be blank")
			}
			return nil
		},
	}
	perPlan := &collection[composition.UsageLimit, *composition.UsageLimit]{
		kind:  composition.KindUsageLimit,
		names: fixedNames("limit", "limits"),
		table: table,
		scope: func(c *call, s *composition.Composition) (func(*composition.UsageLimit) bool, func(*composition.UsageLimit), error) {
			plan, err := planOf(c, s)
			if err != nil {
				return nil, nil, err
			}
			return func(l *composition.UsageLimit) bool { return l.PlanID == plan.ID }, func(*composition.UsageLimit) {}, nil
		},
		view: limitView,
	}
	base := "/admin/api/application_plans/{application_plan_id}"
	rs := perMetric.routes(tag, "Limit", base+"/metrics/{metric_id}/limits", "id", JSON, XML)
	rs[0].Summary = "Limit List per Metric"
	return append(rs, Route{Method: http.MethodGet, Path: base + "/limits", Tag: tag,
		Summary: "Limits List per Application Plan", Formats: []Format{JSON, XML}, handle: perPlan.list})
}

// linkedLimit is a limit as porta's UsageLimitRepresenter gives it in
// JSON: with its links (metric_links.go).
type linkedLimit struct {
	*composition.UsageLimit
	Links []link `json:"links,omitempty"`
}

func limitView(c *call, l *composition.UsageLimit) (string, any) {
	self := "/admin/api/application_plans/" + strconv.FormatInt(l.PlanID, 10) + "/metrics/" +
		strconv.FormatInt(l.MetricID, 10) + "/limits/" + strconv.FormatInt(l.ID, 10)
	return "limit", linkedLimit{UsageLimit: l, Links: ratedLinks(c, l.MetricID, l.PlanID, self)}
}

// planOf resolves the application plan at {application_plan_id}.
func planOf(c *call, s *composition.Composition) (*composition.ApplicationPlan, error) {
	id, err := c.id("application_plan_id")
	if err != nil {
		return nil, err
	}
	return get(&s.ApplicationPlans, id)
}

// planMetricOf resolves the plan and the metric at {metric_id}, which must be
// one the plan's service reports: its own or one of a backend it uses.
func planMetricOf(c *call, s *composition.Composition) (*composition.ApplicationPlan, int64, error) {
	plan, err := planOf(c, s)
	if err != nil {
		return nil, 0, err
	}
	metric, err := c.id("metric_id")
	if err != nil {
		return nil, 0, err
	}
	if _, ok := s.ServiceMetricIDs(plan.ServiceID)[metric]; !ok {
		return nil, 0, ErrNotFound
	}
	return plan, metric, nil
}
