package composition

import "encoding/json"

// A proxy config is a deployed copy of a service's proxy: one version per
// environment, written by promotion and never updated.
var proxyConfigDef = &kindDef[ProxyConfig, *ProxyConfig]{
	Kind:     KindProxyConfig,
	Table:    func(c *Composition) *Table[*ProxyConfig] { return &c.ProxyConfigs },
	Document: func(d *Document) *[]*ProxyConfig { return &d.ProxyConfigs },
	Validate: validateProxyConfig,
	// Its content is the proxy as APIcast reads it, secret token included.
	HideSecrets: hideProxyConfigSecrets,
	Import: func(pc *ProxyConfig, ref refFunc) {
		pc.ServiceID = ref("service_id", pc.ServiceID)
	},
}

func validateProxyConfig(c *Composition, pc *ProxyConfig, v *ValidationError) error {
	if _, ok := c.Services.Get(pc.ServiceID); !ok {
		return NotFound(KindService, pc.ServiceID)
	}
	oneOf(v, "environment", pc.Environment, EnvSandbox, EnvProduction)
	if pc.Version < 1 {
		v.Add("version", "must be greater than 0")
	}
	if !json.Valid(pc.Content) {
		v.Add("content", "is not valid JSON")
	}
	return nil
}
