package composition

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Hit is usage of one metric that a request adds.
type Hit struct {
	MetricID int64
	Delta    int64
}

type compiledRule struct {
	rule    *MappingRule
	pattern *Pattern
	prefix  string // backend usage path, "" for the product's own rules
	parent  int64  // the metric's parent (hits) when the metric is a method
}

// Matcher turns requests to one service into usage, with 3scale's semantics:
// every matching rule adds its delta, in position order; a rule marked last stops
// matching; a method's usage also counts to its parent, hits. Backend API rules
// match below their backend usage's path. A Matcher is immutable.
type Matcher struct {
	ServiceID int64
	rules     []compiledRule
	mounts    []mount // the backends by usage path, longest first; nil when all are at the root
}

// mount is a backend usage path ("" for the root) and its backend API.
type mount struct {
	prefix  string
	backend int64
}

// NewMatcher compiles the mapping rules of a service and of the backend APIs it uses.
func NewMatcher(c *Composition, serviceID int64) (*Matcher, error) {
	if _, ok := c.Services.Get(serviceID); !ok {
		return nil, NotFound(KindService, serviceID)
	}
	m := &Matcher{ServiceID: serviceID}
	add := func(rules []*MappingRule, prefix string) error {
		for _, r := range rules {
			p, err := ParsePattern(r.Pattern)
			if err != nil {
				return fmt.Errorf("mapping rule %d: %w", r.ID, err)
			}
			var parent int64
			if metric, ok := c.Metrics.Get(r.MetricID); ok {
				parent = metric.ParentID
			}
			m.rules = append(m.rules, compiledRule{rule: r, pattern: p, prefix: prefix, parent: parent})
		}
		return nil
	}
	if err := add(c.MappingRulesOf(OwnerService, serviceID), ""); err != nil {
		return nil, err
	}
	subpaths := false
	for _, u := range c.BackendUsages.Filter(func(u *BackendUsage) bool { return u.ServiceID == serviceID }) {
		prefix := strings.TrimSuffix(u.Path, "/")
		if err := add(c.MappingRulesOf(OwnerBackendAPI, u.BackendAPIID), prefix); err != nil {
			return nil, err
		}
		m.mounts = append(m.mounts, mount{prefix: prefix, backend: u.BackendAPIID})
		subpaths = subpaths || prefix != ""
	}
	if !subpaths {
		m.mounts = nil
	}
	// porta orders the routing rules by path, descending: a path comes
	// before the paths it extends.
	sort.SliceStable(m.mounts, func(i, j int) bool { return m.mounts[i].prefix > m.mounts[j].prefix })
	return m, nil
}

// Owner returns the backend API a request path belongs to, as 3scale's
// routing policy for a product with backends under sub paths picks it
// (porta's BackendApiLogic::RoutingPolicy: "^(/v1/.*|/v1/?)" for "/v1", the
// root "^(/.*)", the longest path first), so that only its rules (and the
// product's) add usage, as APIcast cleans the others' by owner_id. 0 when
// every backend is at the root (porta adds no routing policy) or none holds
// the path.
func (m *Matcher) Owner(path string) int64 {
	for _, mt := range m.mounts {
		// The regex is anchored at the start only: "/v1x" is under "/v1".
		if mt.prefix == "" && strings.HasPrefix(path, "/") || mt.prefix != "" && strings.HasPrefix(path, mt.prefix) {
			return mt.backend
		}
	}
	return 0
}

// Len returns the number of compiled rules.
func (m *Matcher) Len() int { return len(m.rules) }

// Match appends to dst the usage a request adds and returns it with the rules
// that matched counted in n. With n == 0 no rule matched (3scale's "no match").
func (m *Matcher) Match(dst []Hit, method, path string, query url.Values) (hits []Hit, n int) {
	return m.MatchOwned(dst, method, path, query, 0)
}

// MatchOwned is Match for a request that APIcast's routing policy sent to
// one backend API (a rule's owner_id): the rules of other backend APIs
// still match, and a last one still stops matching, but add no usage, as
// APIcast subtracts their deltas afterwards. The product's own rules always
// count. owner 0 is Match.
func (m *Matcher) MatchOwned(dst []Hit, method, path string, query url.Values, owner int64) (hits []Hit, n int) {
	for i := range m.rules {
		cr := &m.rules[i]
		if !MethodMatches(cr.rule.HTTPMethod, method) {
			continue
		}
		p := path
		if cr.prefix != "" {
			rest, ok := strings.CutPrefix(path, cr.prefix)
			if !ok || (rest != "" && rest[0] != '/') {
				continue
			}
			if rest == "" {
				rest = "/"
			}
			p = rest
		}
		if !cr.pattern.Match(p, query) {
			continue
		}
		n++
		if owner == 0 || cr.rule.OwnerType != OwnerBackendAPI || cr.rule.OwnerID == owner {
			dst = AddHit(dst, cr.rule.MetricID, cr.rule.Delta)
			if cr.parent != 0 {
				dst = AddHit(dst, cr.parent, cr.rule.Delta)
			}
		}
		if cr.rule.Last {
			break
		}
	}
	return dst, n
}

// AddHit adds delta to the hit of metricID in dst, saturating, or appends
// one: mapping rules' deltas have no upper bound, and many may match.
func AddHit(dst []Hit, metricID, delta int64) []Hit {
	for i := range dst {
		if dst[i].MetricID == metricID {
			dst[i].Delta = AddSaturating(dst[i].Delta, delta)
			return dst
		}
	}
	return append(dst, Hit{MetricID: metricID, Delta: delta})
}

func sortRules(rules []*MappingRule) {
	sort.SliceStable(rules, func(i, j int) bool {
		if rules[i].Position != rules[j].Position {
			return rules[i].Position < rules[j].Position
		}
		return rules[i].ID < rules[j].ID
	})
}
