package composition

import (
	"encoding/base64"
	"time"
)

// An agent's view is the part of a composition one agent needs to serve the
// service it is placed in, and nothing else: no other service, no user, no
// access token, no active doc, no pricing, and application credentials only
// as keyed hashes (HMAC-SHA-256 under Document.CredentialKey), so that no
// agent, cache file or gossip message holds a plaintext user_key, app_id or
// app_key. The gateway hashes what a request presents and looks the digest
// up (AppIndex does so when the composition has a CredentialKey).
//
// The key travels in the view: the gateway must hash presented keys, so the
// agent needs it. A hash under a key the agent holds does not stop an
// attacker who took the agent from guessing keys offline, but nothing in the
// view gives a key back, and home derives a fresh key for every revision and
// audience, so a digest leaked from one view matches nothing in the next.

// CredentialKeySize is the size of a view's credential key.
const CredentialKeySize = 32

// Credential kinds, hashed apart so that a user_key equal to another
// application's app_key never yields the same digest.
const (
	credUserKey byte = 'u'
	credAppID   byte = 'i'
	credAppKey  byte = 'k'
)

// digestEncoding writes digests in a view: base64url, unpadded.
var digestEncoding = base64.RawURLEncoding

// AgentView returns the view of c for agents placed in the service whose
// system_name is service: the service, its proxy (secret token included:
// the gateway adds it upstream), metrics, mapping rules, backend usages and
// the backend APIs they mount, its plans with their usage limits, the
// placements that pick instances into it (so that the agent resolves its
// plans as home does while home is away), its applications with credentials
// hashed under key and their referrer filters (the gateway enforces them
// when the service has referrer_filters_required, which the service
// carries), and of their accounts only id and state. With no such service
// the view holds nothing but its revision.
//
// The document shares the entities it does not change with c: marshal it,
// never edit it. key must be CredentialKeySize random bytes.
func AgentView(c *Composition, service string, key []byte, now time.Time) *Document {
	d := &Document{Format: DocumentFormat, Revision: c.Revision, Exported: now.UTC(), Secrets: false,
		CredentialKey: key}
	svc, ok := c.ServiceBySystemName(service)
	if !ok {
		return d
	}
	d.Services = []*Service{svc}
	if p, ok := c.Proxies.Get(svc.ID); ok {
		// 3scale keeps the issuer's client credentials in the URL
		// (https://client:secret@issuer): the gateway needs only the issuer.
		endpoint, chain := withoutUserinfo(p.OIDCIssuerEndpoint), agentPolicyChain(p.PolicyChain)
		if endpoint != p.OIDCIssuerEndpoint || len(chain) > 0 && &chain[0] != &p.PolicyChain[0] {
			n := *p
			n.OIDCIssuerEndpoint, n.PolicyChain = endpoint, chain
			p = &n
		}
		d.Proxies = []*Proxy{p}
	}
	d.BackendUsages = c.BackendUsages.Filter(func(u *BackendUsage) bool { return u.ServiceID == svc.ID })
	backends := map[int64]bool{}
	for _, u := range d.BackendUsages {
		if b, ok := c.BackendAPIs.Get(u.BackendAPIID); ok && !backends[b.ID] {
			backends[b.ID] = true
			d.BackendAPIs = append(d.BackendAPIs, b)
		}
	}
	owned := func(ownerType string, ownerID int64) bool {
		return ownerType == OwnerService && ownerID == svc.ID || ownerType == OwnerBackendAPI && backends[ownerID]
	}
	d.Metrics = c.Metrics.Filter(func(m *Metric) bool { return owned(m.OwnerType, m.OwnerID) })
	d.MappingRules = c.MappingRules.Filter(func(r *MappingRule) bool { return owned(r.OwnerType, r.OwnerID) })
	d.ApplicationPlans = c.PlansOf(svc.ID)
	plans := map[int64]bool{}
	for _, p := range d.ApplicationPlans {
		plans[p.ID] = true
	}
	d.UsageLimits = c.UsageLimits.Filter(func(l *UsageLimit) bool { return plans[l.PlanID] })
	d.Placements = c.Placements.Filter(func(p *Placement) bool { return p.ServiceID == svc.ID })

	h := newDigester(key)
	accounts := map[int64]bool{}
	for _, a := range c.Applications.Filter(func(a *Application) bool { return a.ServiceID == svc.ID }) {
		v := &Application{ID: a.ID, AccountID: a.AccountID, ServiceID: a.ServiceID, PlanID: a.PlanID, State: a.State,
			Name: a.Name, EndUserRequired: a.EndUserRequired, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
			ReferrerFilters: a.ReferrerFilters}
		if a.UserKey != "" {
			v.UserKey = encodeDigest(h, credUserKey, a.UserKey)
		}
		if a.AppID != "" {
			v.AppID = encodeDigest(h, credAppID, a.AppID)
		}
		for _, k := range a.AppKeys {
			v.AppKeys = append(v.AppKeys, encodeDigest(h, credAppKey, k))
		}
		d.Applications = append(d.Applications, v)
		if !accounts[a.AccountID] {
			accounts[a.AccountID] = true
			if acc, ok := c.Accounts.Get(a.AccountID); ok {
				d.Accounts = append(d.Accounts, &Account{ID: acc.ID, State: acc.State})
			}
		}
	}
	return d
}

func encodeDigest(d *digester, kind byte, v string) string {
	return digestEncoding.EncodeToString(d.digest(kind, v))
}
