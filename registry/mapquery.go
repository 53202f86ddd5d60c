package registry

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxMapLimit bounds one page of the map.
const MaxMapLimit = 10000

// MapQuery selects part of the service map: GET /v1/map's filters, paging
// and the answer asked for. The zero value keeps the whole map.
type MapQuery struct {
	Service string            // map service (system_name) the instances are drawn under
	Plan    string            // plan system_name they serve
	Status  string            // their status
	Labels  map[string]string // labels they all carry, with these values
	// HasLabels are labels they all carry, whatever the values.
	HasLabels []string
	// Limit, when above 0, pages the instances by id: at most Limit, the
	// first after Cursor.
	Limit  int
	Cursor string
	// Offset, in process only (the console's numbered pages), skips this
	// many of the kept instances by id before the page's Limit; GET
	// /v1/map pages with Cursor.
	Offset int
	// Summary asks for counts only; Delta for the changes since the query's
	// index.
	Summary bool
	Delta   bool
}

// filtered tells whether the query keeps less than every instance.
func (q MapQuery) filtered() bool {
	return q.Plan != "" || q.Status != "" || len(q.Labels) > 0 || len(q.HasLabels) > 0
}

// extended tells whether the query uses more than what every peer answers
// (ParamService alone): a whole map answers it unless so.
func (q MapQuery) extended() bool {
	return q.filtered() || q.Limit > 0 || q.Cursor != "" || q.Offset > 0 || q.Summary || q.Delta
}

// AddLabel adds a label filter as GET /v1/map's label parameter and
// `portolan map --label` take it: "key=value" keeps the instances carrying
// the label with that value, "key" alone those carrying it at all.
func (q *MapQuery) AddLabel(kv string) error {
	k, v, withValue := strings.Cut(kv, "=")
	switch {
	case k == "":
		return fmt.Errorf("label must be key=value or key (got %q)", truncate(kv, 64))
	case withValue:
		if q.Labels == nil {
			q.Labels = map[string]string{}
		}
		q.Labels[k] = v
	case !slices.Contains(q.HasLabels, k):
		q.HasLabels = append(q.HasLabels, k)
	}
	return nil
}

// IsMapStatus tells whether s is a status home's map holds, which a map
// query may keep: passing, warning, critical or draining.
func IsMapStatus(s string) bool {
	switch s {
	case StatusPassing, StatusWarning, StatusCritical, StatusDraining:
		return true
	}
	return false
}

// ParseMapQuery reads a MapQuery from GET /v1/map's parameters.
func ParseMapQuery(v url.Values) (MapQuery, error) {
	q := MapQuery{
		Service: v.Get(ParamService), Plan: v.Get(ParamPlan), Status: v.Get(ParamStatus),
		Cursor: v.Get(ParamCursor),
	}
	// Counted before they are read: each is checked against those before.
	if n := len(v[ParamLabel]); n > MaxLabels {
		return MapQuery{}, fmt.Errorf("at most %d labels may filter the map (got %d)", MaxLabels, n)
	}
	for _, kv := range v[ParamLabel] {
		if err := q.AddLabel(kv); err != nil {
			return MapQuery{}, err
		}
	}
	if q.Status != "" && !IsMapStatus(q.Status) {
		return MapQuery{}, fmt.Errorf("status must be passing, warning, critical or draining (got %q)", truncate(q.Status, 32))
	}
	if len(q.Cursor) > MaxIDLen {
		return MapQuery{}, fmt.Errorf("cursor is an instance id, at most %d bytes (got %d)", MaxIDLen, len(q.Cursor))
	}
	if s := v.Get(ParamLimit); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxMapLimit {
			return MapQuery{}, fmt.Errorf("limit must be a number from 1 to %d (got %q)", MaxMapLimit, truncate(s, 32))
		}
		q.Limit = n
	}
	var err error
	if q.Summary, err = flagParam(v, ParamSummary); err != nil {
		return MapQuery{}, err
	}
	if q.Delta, err = flagParam(v, ParamDelta); err != nil {
		return MapQuery{}, err
	}
	if q.Summary && q.Delta {
		return MapQuery{}, fmt.Errorf("summary and delta do not go together: a summary is small, watch it whole")
	}
	return q, nil
}

// flagParam reads a boolean parameter: absent, "0" or "false" is false;
// "1" or "true" true.
func flagParam(v url.Values, name string) (bool, error) {
	switch s := v.Get(name); s {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s must be 1 or 0 (got %q)", name, truncate(s, 32))
	}
}

// Values writes the query as GET /v1/map's parameters (without the blocking
// ones).
func (q MapQuery) Values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set(ParamService, q.Service)
	set(ParamPlan, q.Plan)
	set(ParamStatus, q.Status)
	set(ParamCursor, q.Cursor)
	for _, k := range slices.Sorted(maps.Keys(q.Labels)) {
		v.Add(ParamLabel, k+"="+q.Labels[k])
	}
	for _, k := range slices.Sorted(slices.Values(q.HasLabels)) {
		v.Add(ParamLabel, k)
	}
	if q.Limit > 0 {
		v.Set(ParamLimit, strconv.Itoa(q.Limit))
	}
	if q.Summary {
		v.Set(ParamSummary, "1")
	}
	if q.Delta {
		v.Set(ParamDelta, "1")
	}
	return v
}

// keeps tells whether the filters keep an instance drawn under mapService.
func (q MapQuery) keeps(mapService string, plans []PlanRef, status string, labels map[string]string) bool {
	if q.Service != "" && q.Service != mapService {
		return false
	}
	if q.Status != "" && q.Status != status {
		return false
	}
	if q.Plan != "" && !slices.ContainsFunc(plans, func(p PlanRef) bool { return p.SystemName == q.Plan }) {
		return false
	}
	for k, v := range q.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, k := range q.HasLabels {
		if _, ok := labels[k]; !ok {
			return false
		}
	}
	return true
}

// Keeps tells whether the filters keep in, drawn under mapService. A peer
// that answered the whole map (an agent) leaves the filtering to the
// client, which uses this.
func (q MapQuery) Keeps(mapService string, in MapInstance) bool {
	return q.keeps(mapService, in.Plans, in.Status, in.Labels)
}
