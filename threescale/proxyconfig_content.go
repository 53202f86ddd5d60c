package threescale

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/portolan/portolan/composition"
)

// contentPolicyChain is the chain APIcast runs: the enabled policies and,
// when the product mounts a backend under a sub path, 3scale's routing
// policy sending each backend usage path to its backend
// (BackendApiLogic::RoutingPolicy): placed right before apicast, with the
// rules of the product's own routing policies after the backends'.
func contentPolicyChain(p *composition.Proxy, usages []*composition.BackendUsage, backends map[int64]*composition.BackendAPI) []any {
	var enabled []composition.PolicyConfig
	for _, pc := range composition.NormalizePolicyChain(p.PolicyChain) {
		if pc.Enabled {
			enabled = append(enabled, pc)
		}
	}
	chain := []any{}
	if !slices.ContainsFunc(usages, func(u *composition.BackendUsage) bool { return pcUsagePrefix(u.Path) != "" }) {
		for _, pc := range enabled {
			chain = append(chain, pcChainEntry{Name: pc.Name, Version: pc.Version, Configuration: pc.Configuration})
		}
		return chain
	}
	rules := pcBackendRoutingRules(usages, backends)
	var others []composition.PolicyConfig
	for _, pc := range enabled {
		if pc.Name != "routing" {
			others = append(others, pc)
			continue
		}
		var conf struct {
			Rules []json.RawMessage `json:"rules"`
		}
		if json.Unmarshal(pc.Configuration, &conf) == nil {
			for _, r := range conf.Rules {
				rules = append(rules, r)
			}
		}
	}
	at := slices.IndexFunc(others, func(pc composition.PolicyConfig) bool { return pc.Name == "apicast" })
	if at < 0 {
		at = len(others)
	}
	for i, pc := range others {
		if i == at && len(rules) > 0 {
			chain = append(chain, pcRoutingEntry(rules))
		}
		chain = append(chain, pcChainEntry{Name: pc.Name, Version: pc.Version, Configuration: pc.Configuration})
	}
	if at == len(others) && len(rules) > 0 {
		chain = append(chain, pcRoutingEntry(rules))
	}
	return chain
}

// pcBackendRoutingRules are the routing rules of a product's backends,
// the longest path first, as porta's Builder#to_h (sorted_for_proxy_config):
// the path condition is ConfigPath#to_regex, anchored, since APIcast's
// "matches" finds the regex anywhere in the path, and replace_path takes
// the mount off the current uri, so a url_rewriting before it counts.
func pcBackendRoutingRules(usages []*composition.BackendUsage, backends map[int64]*composition.BackendAPI) []any {
	sorted := append([]*composition.BackendUsage(nil), usages...)
	sort.SliceStable(sorted, func(i, j int) bool { return pcUsagePrefix(sorted[i].Path) > pcUsagePrefix(sorted[j].Path) })
	var rules []any
	for _, u := range sorted {
		b := backends[u.BackendAPIID]
		if b.PrivateEndpoint == "" {
			continue
		}
		prefix := pcUsagePrefix(u.Path)
		regex := "^(/.*)"
		if prefix != "" {
			regex = "^(" + prefix + "/.*|" + prefix + "/?)"
		}
		rule := map[string]any{
			"url": b.PrivateEndpoint, "owner_id": b.ID, "owner_type": composition.OwnerBackendAPI,
			"condition": map[string]any{"operations": []map[string]string{{"match": "path", "op": "matches", "value": regex}}},
		}
		if prefix != "" {
			rule["replace_path"] = "{{uri | remove_first: '" + prefix + "'}}"
		}
		rules = append(rules, rule)
	}
	return rules
}

func pcRoutingEntry(rules []any) map[string]any {
	return map[string]any{
		"name": "routing", "version": "builtin", "enabled": true,
		"configuration": map[string]any{"rules": rules},
	}
}

// contentProxyRules lists the product's mapping rules, then those of each
// backend it uses with the usage path in front, as 3scale's ProxyRulesSource.
func contentProxyRules(s *composition.Composition, svc *composition.Service, usages []*composition.BackendUsage) []pcProxyRule {
	rules := []pcProxyRule{}
	add := func(r *composition.MappingRule, prefix, ownerType string, metricName func(*composition.Metric) string) {
		name := ""
		if m, ok := s.Metrics.Get(r.MetricID); ok {
			name = metricName(m)
		}
		pattern := r.Pattern
		if prefix != "" && pattern == "/" {
			// porta's ProxyRuleDecorator: the catch-all under a path is the
			// path alone ("/v1", not "/v1/"), which matches "/v1" itself.
			pattern = prefix
		} else if prefix != "" {
			pattern = prefix + pattern
		}
		params, query := pcPatternParameters(pattern)
		rules = append(rules, pcProxyRule{
			ID: r.ID, ProxyID: svc.ID, HTTPMethod: r.HTTPMethod, Pattern: pcreEscape(pattern),
			MetricID: r.MetricID, MetricSystemName: name, Delta: r.Delta, TenantID: svc.AccountID,
			CreatedAt: pcTime(r.CreatedAt),
			UpdatedAt: pcTime(r.UpdatedAt),
			Position:  r.Position, Last: r.Last, OwnerID: r.OwnerID, OwnerType: ownerType,
			Parameters: params, QuerystringParameters: query,
		})
	}
	for _, r := range s.MappingRulesOf(composition.OwnerService, svc.ID) {
		// 3scale's product rules belong to the proxy.
		add(r, "", "Proxy", func(m *composition.Metric) string { return m.SystemName })
	}
	for _, u := range usages {
		for _, r := range s.MappingRulesOf(composition.OwnerBackendAPI, u.BackendAPIID) {
			// 3scale names a backend's metrics "<system_name>.<backend id>"
			// towards the gateway and the backend, so they never clash with
			// the product's own.
			add(r, pcUsagePrefix(u.Path), composition.OwnerBackendAPI, func(m *composition.Metric) string {
				return m.SystemName + "." + strconv.FormatInt(u.BackendAPIID, 10)
			})
		}
	}
	return rules
}

var pcPatternVariable = regexp.MustCompile(`\{([^{}]+)\}`)

// pcPatternParameters returns the path variables of a pattern and its query
// parameters as written (values may be {variables}).
func pcPatternParameters(pattern string) ([]string, map[string]string) {
	path, query, _ := strings.Cut(pattern, "?")
	params := []string{}
	for _, m := range pcPatternVariable.FindAllStringSubmatch(path, -1) {
		params = append(params, m[1])
	}
	qs := map[string]string{}
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			qs[k] = v
		}
	}
	return params, qs
}

// pcreEscape escapes what APIcast would read as regex syntax in a pattern,
// as 3scale's Apicast::PcreEscaper.
func pcreEscape(pattern string) string {
	path, query, hasQuery := strings.Cut(pattern, "?")
	escape := func(s, meta string) string {
		var b strings.Builder
		for _, r := range s {
			if strings.ContainsRune(meta, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	out := escape(path, ".()*+")
	if hasQuery {
		out += "?" + escape(query, ".()*+$?[]")
	}
	return out
}
