package threescale

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// A proxy's policy chain, and the registry of custom APIcast policies.

func (a *API) policyRoutes() []Route {
	const chain = "/admin/api/services/{service_id}/proxy/policies"
	const registry = "/admin/api/registry/policies"
	const tag = "APIcast Policy Registry"
	return []Route{
		{Method: http.MethodGet, Path: chain, Tag: "Gateway", Summary: "Proxy Policies Chain Show", handle: showPolicyChain},
		{Method: http.MethodPut, Path: chain, Tag: "Gateway", Summary: "Proxy Policies Chain Update", handle: updatePolicyChain},
		{Method: http.MethodGet, Path: registry, Tag: tag, Summary: "APIcast Policy Registry List", handle: listRegistryPolicies},
		{Method: http.MethodPost, Path: registry, Tag: tag, Summary: "APIcast Policy Registry Create",
			Status: http.StatusCreated, handle: createRegistryPolicy},
		{Method: http.MethodGet, Path: registry + "/{id}", Tag: tag, Summary: "APIcast Policy Registry Read", handle: readRegistryPolicy},
		{Method: http.MethodPut, Path: registry + "/{id}", Tag: tag, Summary: "APIcast Policy Registry Update", handle: updateRegistryPolicy},
		{Method: http.MethodPatch, Path: registry + "/{id}", Tag: tag, Summary: "APIcast Policy Registry Update", handle: updateRegistryPolicy},
		{Method: http.MethodDelete, Path: registry + "/{id}", Tag: tag, Summary: "APIcast Policy Registry Delete", handle: deleteRegistryPolicy},
	}
}

func showPolicyChain(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	p, _, err := proxyOf(c.snapshot(), id)
	if err != nil {
		return err
	}
	return c.list("policies_config", "", composition.NormalizePolicyChain(p.PolicyChain))
}

// updatePolicyChain replaces the chain and, as 3scale, deploys the result to
// the sandbox when it differs from the newest sandbox config.
func updatePolicyChain(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	chain, err := parsePolicyChain(c.params)
	if err != nil {
		return err
	}
	var out *composition.Proxy
	_, err = c.update(func(tx *composition.Tx) error {
		old, exists, err := proxyOf(tx.View(), id)
		if err != nil {
			return err
		}
		n := *old
		n.PolicyChain = composition.NormalizePolicyChain(chain)
		if err := storeProxyChange(tx, &n, old, exists); err != nil {
			return err
		}
		out = &n
		_, err = deployProxyConfig(tx, id, proxyBackendOf(c), true)
		return err
	})
	if err != nil {
		return err
	}
	return c.list("policies_config", "", out.PolicyChain)
}

// parsePolicyChain reads policies_config: a JSON array (in a JSON body), or
// a string holding one (3scale's form parameter).
func parsePolicyChain(p *Params) ([]composition.PolicyConfig, error) {
	const field = "policies_config"
	raw, ok := p.Raw(field)
	if !ok {
		s, ok := p.Get(field)
		if !ok {
			return nil, composition.Invalid(field, "can't be blank")
		}
		raw = json.RawMessage(s)
	} else if jsonValueKind(raw) == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, composition.Invalid(field, "must be a JSON array")
		}
		raw = json.RawMessage(s)
	}
	var items []json.RawMessage
	if jsonValueKind(raw) != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, composition.Invalid(field, "must be a JSON array of policies")
	}
	var problems []string
	chain := make([]composition.PolicyConfig, 0, len(items))
	for i, item := range items {
		where := "policy " + strconv.Itoa(i)
		var m map[string]json.RawMessage
		if jsonValueKind(item) != '{' || json.Unmarshal(item, &m) != nil {
			problems = append(problems, where+" must be a JSON object")
			continue
		}
		var pc composition.PolicyConfig
		if json.Unmarshal(m["name"], &pc.Name) != nil || pc.Name == "" {
			problems = append(problems, where+": name can't be blank")
		} else {
			where += " (" + pc.Name + ")"
		}
		if json.Unmarshal(m["version"], &pc.Version) != nil || pc.Version == "" {
			problems = append(problems, where+": version can't be blank")
		}
		if conf := m["configuration"]; jsonValueKind(conf) == '{' {
			// Compact, as porta stores the JSON it serializes: the same
			// chain laid out otherwise is the same chain, and sending it
			// again changes nothing (no new lock_version).
			var buf bytes.Buffer
			if err := json.Compact(&buf, conf); err != nil {
				problems = append(problems, where+": configuration must be a JSON object")
				continue
			}
			pc.Configuration = json.RawMessage(buf.Bytes())
		} else {
			problems = append(problems, where+": configuration must be a JSON object")
		}
		if en, ok := m["enabled"]; ok && jsonValueKind(en) != 'n' {
			if json.Unmarshal(en, &pc.Enabled) != nil {
				problems = append(problems, where+": enabled must be true or false")
			}
		}
		chain = append(chain, pc)
	}
	if len(problems) > 0 {
		return nil, &composition.ValidationError{Fields: map[string][]string{field: problems}}
	}
	return chain, nil
}

// registryPolicyView is a registry policy as 3scale renders it: with the
// summary and description of its schema.
type registryPolicyView struct {
	*composition.RegistryPolicy
	Summary     json.RawMessage `json:"summary"`
	Description json.RawMessage `json:"description"`
}

func viewRegistryPolicy(p *composition.RegistryPolicy) registryPolicyView {
	var schema map[string]json.RawMessage
	_ = json.Unmarshal(p.Schema, &schema)
	return registryPolicyView{RegistryPolicy: p, Summary: schema["summary"], Description: schema["description"]}
}

func listRegistryPolicies(c *call) error {
	all := c.snapshot().RegistryPolicies.All()
	items, err := page(c, all)
	if err != nil {
		return err
	}
	views := make([]registryPolicyView, len(items))
	for i, p := range items {
		views[i] = viewRegistryPolicy(p)
	}
	return c.list("policies", "policy", views)
}

// findRegistryPolicy resolves an id, or "name-version" as 3scale allows.
func findRegistryPolicy(s *composition.Composition, ref string) (*composition.RegistryPolicy, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if p, ok := s.RegistryPolicies.Get(id); ok {
			return p, nil
		}
		return nil, ErrNotFound
	}
	if p, ok := s.RegistryPolicies.Find(func(p *composition.RegistryPolicy) bool { return p.Name+"-"+p.Version == ref }); ok {
		return p, nil
	}
	return nil, ErrNotFound
}

// bindRegistryPolicy binds the parameters; a schema sent as a JSON string
// holding the object counts as the object.
func bindRegistryPolicy(c *call, p *composition.RegistryPolicy) error {
	if err := c.bind(p, false); err != nil {
		return err
	}
	if jsonValueKind(p.Schema) == '"' {
		var s string
		if json.Unmarshal(p.Schema, &s) == nil {
			p.Schema = json.RawMessage(s)
		}
	}
	return nil
}

func createRegistryPolicy(c *call) error {
	n := &composition.RegistryPolicy{}
	_, err := c.update(func(tx *composition.Tx) error {
		if err := bindRegistryPolicy(c, n); err != nil {
			return err
		}
		return tx.Create(n)
	})
	if err != nil {
		return err
	}
	return c.one("policy", viewRegistryPolicy(n))
}

func readRegistryPolicy(c *call) error {
	p, err := findRegistryPolicy(c.snapshot(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.one("policy", viewRegistryPolicy(p))
}

func updateRegistryPolicy(c *call) error {
	var n composition.RegistryPolicy
	_, err := c.update(func(tx *composition.Tx) error {
		old, err := findRegistryPolicy(tx.View(), c.r.PathValue("id"))
		if err != nil {
			return err
		}
		n = *old
		if err := bindRegistryPolicy(c, &n); err != nil {
			return err
		}
		return tx.Update(&n)
	})
	if err != nil {
		return err
	}
	return c.one("policy", viewRegistryPolicy(&n))
}

func deleteRegistryPolicy(c *call) error {
	_, err := c.update(func(tx *composition.Tx) error {
		old, err := findRegistryPolicy(tx.View(), c.r.PathValue("id"))
		if err != nil {
			return err
		}
		return tx.Delete(composition.KindRegistryPolicy, old.ID)
	})
	if err != nil {
		return err
	}
	return c.empty()
}
