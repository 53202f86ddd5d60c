package coordinator

import (
	"encoding/json"
	"fmt"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// An export without secrets hides the credentials of policy configurations
// (manifest.HidePolicySecrets), in each proxy and in each deployed proxy
// config's content, which a stock APIcast reads; an import puts back home's
// value for each (manifest.RestoreChainSecrets) and refuses one it cannot
// match, rather than store the placeholder a gateway would send as a secret.

// hidePolicySecrets hides the policy secrets of doc, an export of copies.
func hidePolicySecrets(doc *composition.Document) {
	for _, p := range doc.Proxies {
		if p == nil {
			continue
		}
		chain := make([]composition.PolicyConfig, len(p.PolicyChain))
		for i, pc := range p.PolicyChain {
			pc.Configuration = manifest.HidePolicySecrets(pc.Configuration)
			chain[i] = pc
		}
		p.PolicyChain = chain
	}
	for _, pc := range doc.ProxyConfigs {
		if pc == nil {
			continue
		}
		pc.Content = withoutDuplicateChainKeys(pc.Content)
		if content, ok := editContentChain(pc.Content, func(_ chainPath, chain []composition.PolicyConfig) error {
			for i := range chain {
				chain[i].Configuration = manifest.HidePolicySecrets(chain[i].Configuration)
			}
			return nil
		}); ok {
			pc.Content = content
		}
	}
}

// restorePolicySecrets returns doc with the policy secrets an export
// without secrets hid put back from cur, the composition being imported
// into: a proxy's from cur's proxy of the service of the same system_name,
// a proxy config's from cur's proxy config of that service, environment and
// version. doc is not changed: a store that runs the update again (a Consul
// CAS retry) restores from the composition it then holds.
//
// A document that says it holds its secrets ("secrets": true, as an export
// with them writes it) is returned as it is: its "xxxxx" in a URL is a
// password, not a mask, and only a placeholder in it is refused
// (manifest.CheckChainSecrets). One that does not say is taken for an
// export without secrets, as exports before the field were.
func restorePolicySecrets(cur *composition.Composition, doc *composition.Document) (*composition.Document, error) {
	if doc.Secrets {
		return doc, checkPolicySecrets(doc)
	}
	services := map[int64]string{}
	for _, s := range doc.Services {
		if s != nil {
			services[s.ID] = s.SystemName
		}
	}
	held := func(serviceID int64) (string, *composition.Service) {
		name := services[serviceID]
		s, ok := cur.ServiceBySystemName(name)
		if name == "" || !ok {
			return name, nil
		}
		return name, s
	}
	out := *doc
	out.Proxies = make([]*composition.Proxy, len(doc.Proxies))
	for i, p := range doc.Proxies {
		out.Proxies[i] = p
		if p == nil {
			continue
		}
		name, s := held(p.ServiceID)
		var home []composition.PolicyConfig
		if s != nil {
			if hp, ok := cur.Proxies.Get(s.ID); ok {
				home = hp.PolicyChain
			}
		}
		n := *p
		n.PolicyChain = append([]composition.PolicyConfig(nil), p.PolicyChain...)
		if err := manifest.RestoreChainSecrets(serviceName(name, p.ServiceID), n.PolicyChain, home); err != nil {
			return nil, composition.Invalid("policy_chain", err.Error())
		}
		out.Proxies[i] = &n
	}
	out.ProxyConfigs = make([]*composition.ProxyConfig, len(doc.ProxyConfigs))
	for i, pc := range doc.ProxyConfigs {
		out.ProxyConfigs[i] = pc
		if pc == nil {
			continue
		}
		name, s := held(pc.ServiceID)
		var held json.RawMessage
		if s != nil {
			for _, h := range cur.ProxyConfigs.Filter(func(h *composition.ProxyConfig) bool {
				return h.ServiceID == s.ID && h.Environment == pc.Environment && h.Version == pc.Version
			}) {
				held = h.Content
			}
		}
		var err error
		content, ok := editContentChain(pc.Content, func(at chainPath, chain []composition.PolicyConfig) error {
			// Home's chain spelled as the document's: a configuration is
			// put back under the key it was hidden under.
			_, home, _ := readContentChain(held, at)
			err = manifest.RestoreChainSecrets(serviceName(name, pc.ServiceID), chain, home)
			return err
		})
		if err != nil {
			return nil, composition.Invalid("proxy_configs", fmt.Sprintf("%s proxy config version %d: %v", pc.Environment, pc.Version, err))
		}
		if ok {
			n := *pc
			n.Content = content
			out.ProxyConfigs[i] = &n
		}
	}
	return &out, nil
}

// checkPolicySecrets refuses a placeholder of an export without secrets in
// doc, a document that says it holds its secrets.
func checkPolicySecrets(doc *composition.Document) error {
	names := doc.ServiceNames()
	for _, p := range doc.Proxies {
		if p == nil {
			continue
		}
		if err := manifest.CheckChainSecrets(serviceName(names[p.ServiceID], p.ServiceID), p.PolicyChain); err != nil {
			return composition.Invalid("policy_chain", err.Error())
		}
	}
	for _, pc := range doc.ProxyConfigs {
		if pc == nil {
			continue
		}
		var err error
		editContentChain(pc.Content, func(_ chainPath, chain []composition.PolicyConfig) error {
			err = manifest.CheckChainSecrets(serviceName(names[pc.ServiceID], pc.ServiceID), chain)
			return err
		})
		if err != nil {
			return composition.Invalid("proxy_configs", fmt.Sprintf("%s proxy config version %d: %v", pc.Environment, pc.Version, err))
		}
	}
	return nil
}

// serviceName names a service in an error: by system_name, by the
// document's id when the document does not name it.
func serviceName(name string, id int64) string {
	if name == "" {
		return fmt.Sprintf("(id %d)", id)
	}
	return name
}
