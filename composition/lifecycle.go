package composition

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// afterCreate adds what 3scale creates with an entity.
func (tx *Tx) afterCreate(e Entity) error {
	switch v := e.(type) {
	case *Service:
		if err := tx.createHits(OwnerService, v.ID); err != nil {
			return err
		}
		return tx.Create(DefaultProxy(v.ID))
	case *BackendAPI:
		return tx.createHits(OwnerBackendAPI, v.ID)
	case *ApplicationPlan:
		if v.Default {
			tx.unsetOtherDefaults(v)
		}
	}
	return nil
}

func (tx *Tx) afterUpdate(e, _ Entity) error {
	if p, ok := e.(*ApplicationPlan); ok && p.Default {
		tx.unsetOtherDefaults(p)
	}
	return nil
}

func (tx *Tx) createHits(ownerType string, ownerID int64) error {
	return tx.Create(&Metric{
		OwnerType: ownerType, OwnerID: ownerID,
		SystemName: "hits", FriendlyName: "Hits", Unit: "hit",
		Description: "Number of API hits",
	})
}

// A service has at most one default plan.
func (tx *Tx) unsetOtherDefaults(p *ApplicationPlan) {
	for _, o := range tx.c.PlansOf(p.ServiceID) {
		if o.ID != p.ID && o.Default {
			n := *o
			n.Default = false
			n.UpdatedAt = tx.now
			tx.put(&n)
		}
	}
}

// DefaultProxy returns the proxy settings 3scale gives a new service.
func DefaultProxy(serviceID int64) *Proxy {
	return &Proxy{
		ServiceID:                  serviceID,
		CredentialsLocation:        CredentialsQuery,
		AuthUserKey:                "user_key",
		AuthAppID:                  "app_id",
		AuthAppKey:                 "app_key",
		ErrorAuthFailed:            "Authentication failed",
		ErrorAuthMissing:           "Authentication parameters missing",
		ErrorNoMatch:               "No Mapping Rule matched",
		ErrorLimitsExceeded:        "Usage limit exceeded",
		ErrorStatusAuthFailed:      403,
		ErrorStatusAuthMissing:     403,
		ErrorStatusNoMatch:         404,
		ErrorStatusLimitsExceeded:  429,
		ErrorHeadersAuthFailed:     defaultErrHeader,
		ErrorHeadersAuthMissing:    defaultErrHeader,
		ErrorHeadersNoMatch:        defaultErrHeader,
		ErrorHeadersLimitsExceeded: defaultErrHeader,
		APITestPath:                "/",
		SecretToken:                "Shared_secret_sent_from_proxy_to_API_backend_" + randomHex(8),
		PolicyChain: []PolicyConfig{{
			Name: "apicast", Version: "builtin", Configuration: json.RawMessage(`{}`), Enabled: true,
		}},
	}
}

// checkDelete refuses deletes 3scale refuses.
func (tx *Tx) checkDelete(e Entity) error {
	c := tx.c
	switch v := e.(type) {
	case *Metric:
		if v.SystemName == "hits" {
			return Invalid("system_name", "the hits metric cannot be deleted")
		}
	case *BackendAPI:
		if _, used := c.BackendUsages.Find(func(u *BackendUsage) bool { return u.BackendAPIID == v.ID }); used {
			return Invalid("base", "cannot be deleted because it is used by at least one product")
		}
	case *ApplicationPlan:
		if _, used := c.Applications.Find(func(a *Application) bool { return a.PlanID == v.ID }); used {
			return Invalid("base", "cannot be deleted because it has applications")
		}
	case *Proxy:
		return Invalid("base", "a proxy is deleted with its service")
	}
	return nil
}

// cascade removes what belongs to e, as 3scale does.
func (tx *Tx) cascade(e Entity) {
	c := tx.c
	switch v := e.(type) {
	case *Service:
		for _, m := range c.MetricsOf(OwnerService, v.ID) {
			tx.cascade(m)
			tx.remove(KindMetric, m.ID)
		}
		for _, u := range c.BackendUsages.Filter(func(u *BackendUsage) bool { return u.ServiceID == v.ID }) {
			tx.remove(KindBackendUsage, u.ID)
		}
		for _, p := range c.PlansOf(v.ID) {
			for _, a := range c.Applications.Filter(func(a *Application) bool { return a.PlanID == p.ID }) {
				tx.remove(KindApplication, a.ID)
			}
			tx.cascade(p)
			tx.remove(KindApplicationPlan, p.ID)
		}
		for _, pc := range c.ProxyConfigs.Filter(func(pc *ProxyConfig) bool { return pc.ServiceID == v.ID }) {
			tx.remove(KindProxyConfig, pc.ID)
		}
		for _, d := range c.ActiveDocs.Filter(func(d *ActiveDoc) bool { return d.ServiceID == v.ID }) {
			n := *d
			n.ServiceID, n.UpdatedAt = 0, tx.now
			tx.put(&n)
		}
		for _, p := range c.Placements.Filter(func(p *Placement) bool { return p.ServiceID == v.ID }) {
			tx.remove(KindPlacement, p.ID)
		}
		tx.remove(KindProxy, v.ID)
	case *BackendAPI:
		for _, m := range c.MetricsOf(OwnerBackendAPI, v.ID) {
			tx.cascade(m)
			tx.remove(KindMetric, m.ID)
		}
	case *Metric:
		for _, child := range c.Metrics.Filter(func(m *Metric) bool { return m.ParentID == v.ID }) {
			tx.cascade(child)
			tx.remove(KindMetric, child.ID)
		}
		for _, r := range c.MappingRules.Filter(func(r *MappingRule) bool { return r.MetricID == v.ID }) {
			tx.remove(KindMappingRule, r.ID)
		}
		for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.MetricID == v.ID }) {
			tx.remove(KindUsageLimit, l.ID)
		}
		for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.MetricID == v.ID }) {
			tx.remove(KindPricingRule, r.ID)
		}
	case *ApplicationPlan:
		for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == v.ID }) {
			tx.remove(KindUsageLimit, l.ID)
		}
		for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.PlanID == v.ID }) {
			tx.remove(KindPricingRule, r.ID)
		}
		// A placement left with no plans would serve them all: it goes too.
		for _, p := range c.Placements.Filter(func(p *Placement) bool { return slices.Contains(p.PlanIDs, v.ID) }) {
			n := *p
			n.PlanIDs = slices.DeleteFunc(slices.Clone(p.PlanIDs), func(id int64) bool { return id == v.ID })
			if len(n.PlanIDs) == 0 {
				tx.remove(KindPlacement, p.ID)
				continue
			}
			n.UpdatedAt = tx.now
			tx.put(&n)
		}
	case *BackendUsage:
		// The product's plans can no longer limit or price the backend's metrics.
		backendMetric := func(id int64) bool {
			m, ok := c.Metrics.Get(id)
			return ok && m.OwnerType == OwnerBackendAPI && m.OwnerID == v.BackendAPIID
		}
		for _, p := range c.PlansOf(v.ServiceID) {
			for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == p.ID && backendMetric(l.MetricID) }) {
				tx.remove(KindUsageLimit, l.ID)
			}
			for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.PlanID == p.ID && backendMetric(r.MetricID) }) {
				tx.remove(KindPricingRule, r.ID)
			}
		}
	case *Account:
		for _, u := range c.Users.Filter(func(u *User) bool { return u.AccountID == v.ID }) {
			tx.remove(KindUser, u.ID)
		}
		for _, a := range c.Applications.Filter(func(a *Application) bool { return a.AccountID == v.ID }) {
			tx.remove(KindApplication, a.ID)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("composition: crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return hex.EncodeToString(b)
}
