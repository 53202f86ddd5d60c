package composition

import "strings"

// A backend usage mounts a backend API in a product under a path; deleting it
// drops what the product's plans say of the backend's metrics.
var backendUsageDef = &kindDef[BackendUsage, *BackendUsage]{
	Kind:     KindBackendUsage,
	Table:    func(c *Composition) *Table[*BackendUsage] { return &c.BackendUsages },
	Document: func(d *Document) *[]*BackendUsage { return &d.BackendUsages },
	Parent:   func(u *BackendUsage) int64 { return u.ServiceID },
	Keep:     func(u, old *BackendUsage) { u.ServiceID, u.BackendAPIID = old.ServiceID, old.BackendAPIID },
	Prepare: func(_ *Composition, u, _ *BackendUsage) error {
		u.Path = ConfigPath(u.Path)
		return nil
	},
	Validate: validateBackendUsage,
	Cascade:  cascadeBackendUsage,
	Import: func(u *BackendUsage, ref refFunc) {
		u.ServiceID, u.BackendAPIID = ref("service_id", u.ServiceID), ref("backend_id", u.BackendAPIID)
	},
	NaturalKey: func(x *keyIndex, u *BackendUsage) (string, string, error) {
		backend, err := x.ref("backend_id", u.BackendAPIID)
		if err != nil {
			return "", "", err
		}
		return x.ownedKey("service_id", u.ServiceID, "backend_usage", backend)
	},
}

// pathFormat is porta's message for a backend usage path that is not one
// (PathValidator's not_path_format).
const pathFormat = `must be a path separated by "/". E.g. "" or "my/path"`

// ConfigPath is a backend usage path as porta stores it (ConfigPath): "/"
// and the value without its leading and trailing slashes, so "foo/bar" is
// "/foo/bar", "/v1/" is "/v1", and "" is "/", the root.
func ConfigPath(path string) string {
	return "/" + strings.Trim(path, "/")
}

// ValidConfigPath reports whether p, stored as ConfigPath stores it, is a
// backend usage path porta takes: what documents are checked with before
// they reach the composition's own validation.
func ValidConfigPath(p string) bool {
	p = ConfigPath(p)
	return len(p) <= maxNameLen && uriPath(p)
}

// uriPath reports whether p is a URI path as RFC 3986 spells it: pchars
// (unreserved, %XX, sub-delims, ":", "@") and "/", as porta's PathValidator
// asks of URI.parse. Anything else (a space, "?", "#", "{", non-ASCII) would
// reach APIcast's routing regex and mapping rule patterns.
func uriPath(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func validateBackendUsage(c *Composition, u *BackendUsage, v *ValidationError) error {
	if _, ok := c.Services.Get(u.ServiceID); !ok {
		return NotFound(KindService, u.ServiceID)
	}
	if _, ok := c.BackendAPIs.Get(u.BackendAPIID); !ok {
		v.Add("backend_api_id", "does not exist")
	}
	switch {
	case len(u.Path) > maxNameLen:
		v.Add("path", "is too long (maximum is 255 characters)")
	case !uriPath(u.Path):
		v.Add("path", pathFormat)
	}
	if _, dup := c.BackendUsages.FindUnder(u.ServiceID, func(o *BackendUsage) bool {
		return o.BackendAPIID == u.BackendAPIID && o.ID != u.ID
	}); dup {
		v.Add("backend_api_id", taken)
	}
	// porta: "validates :path, uniqueness: { scope: :service_id,
	// case_sensitive: false }". Two backends under one path would split a
	// request's usage between them. Compared as stored by porta, so a path
	// kept before paths were normalised ("/v1/") still holds its mount.
	mount := ConfigPath(u.Path)
	if _, dup := c.BackendUsages.FindUnder(u.ServiceID, func(o *BackendUsage) bool {
		return o.ID != u.ID && strings.EqualFold(ConfigPath(o.Path), mount)
	}); dup {
		v.Add("path", "This path is already taken. Specify a different path.")
	}
	return nil
}

// cascadeBackendUsage removes the limits and pricing rules the product's plans
// set on the backend's metrics: they can no longer count them.
func cascadeBackendUsage(tx *Tx, u *BackendUsage) {
	c := tx.c
	backendMetric := func(id int64) bool {
		m, ok := c.Metrics.Get(id)
		return ok && m.OwnerType == OwnerBackendAPI && m.OwnerID == u.BackendAPIID
	}
	for _, p := range c.PlansOf(u.ServiceID) {
		for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == p.ID && backendMetric(l.MetricID) }) {
			tx.drop(l)
		}
		for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.PlanID == p.ID && backendMetric(r.MetricID) }) {
			tx.drop(r)
		}
	}
}
