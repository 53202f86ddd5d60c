package console

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/portolan/portolan/registry"
)

// mapPageSize is how many instances one page of the map shows: a fleet of
// 10,000 is read a hundred rows at a time, with the counts of the whole
// filtered fleet above.
const mapPageSize = 100

// mapStatuses are the statuses the map filters and counts by, in the order
// shown.
var mapStatuses = []string{registry.StatusPassing, registry.StatusWarning, registry.StatusCritical,
	registry.StatusDraining, registry.StatusAlive}

// mapFilter is what the map's GET form selects; the zero filter selects
// every instance.
type mapFilter struct {
	Service  string // system_name
	Plan     string // system_name
	LabelKey string // label filter: key=value, or key alone for "has the label"
	LabelVal string
	Label    string // as typed, for the form
	Status   string
	Page     int // 1-based
}

// parseMapFilter reads the filter from a query; what it does not recognise
// it ignores (an unknown status selects nothing, as typed).
func parseMapFilter(q url.Values) mapFilter {
	f := mapFilter{
		Service: strings.TrimSpace(q.Get("service")),
		Plan:    strings.TrimSpace(q.Get("plan")),
		Label:   strings.TrimSpace(q.Get("label")),
		Status:  strings.TrimSpace(q.Get("status")),
		Page:    pageParam(q),
	}
	f.LabelKey, f.LabelVal, _ = strings.Cut(f.Label, "=")
	f.LabelKey, f.LabelVal = strings.TrimSpace(f.LabelKey), strings.TrimSpace(f.LabelVal)
	return f
}

// query encodes the filter (without the page) for links and the event
// stream.
func (f mapFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"service": f.Service, "plan": f.Plan, "label": f.Label, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// pageURL is the map's address for page n under the filter.
func (f mapFilter) pageURL(n int) string {
	q := f.query()
	if n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return Prefix
	}
	return Prefix + "?" + q.Encode()
}

// registryQuery is the filter as the registry reads it, service, status
// and page aside (buildMapView applies those).
func (f mapFilter) registryQuery() registry.MapQuery {
	q := registry.MapQuery{Plan: f.Plan}
	if f.LabelKey != "" {
		kv := f.LabelKey
		if strings.Contains(f.Label, "=") {
			kv += "=" + f.LabelVal
		}
		_ = q.AddLabel(kv) // a key is never empty here
	}
	return q
}
