package composition

import "encoding/json"

// policyURLsWithCredentials names, by policy, the configuration fields that
// hold a URL whose user:password@ part the gateway does not use: agents get
// the URL without it, as they get oidc_issuer_endpoint (jwt_parser drops it
// too, but an agent should not hold what it does not need).
var policyURLsWithCredentials = map[string]string{
	"jwt_parser": "issuer_endpoint",
}

// agentPolicyChain is chain with the credentials of policyURLsWithCredentials
// left out of each URL; chain itself when none has any. A configuration it
// cannot read is left as it is: the gateway refuses it anyway.
func agentPolicyChain(chain []PolicyConfig) []PolicyConfig {
	var out []PolicyConfig
	for i, pc := range chain {
		field, ok := policyURLsWithCredentials[pc.Name]
		if !ok {
			continue
		}
		var conf map[string]json.RawMessage
		var endpoint string
		if json.Unmarshal(pc.Configuration, &conf) != nil || json.Unmarshal(conf[field], &endpoint) != nil {
			continue
		}
		stripped := withoutUserinfo(endpoint)
		if stripped == endpoint {
			continue
		}
		conf[field], _ = json.Marshal(stripped)
		raw, err := json.Marshal(conf)
		if err != nil {
			continue
		}
		if out == nil {
			out = append([]PolicyConfig(nil), chain...)
		}
		out[i].Configuration = raw
	}
	if out == nil {
		return chain
	}
	return out
}
