package composition

import (
	"encoding/json"
	"time"
)

// KindProxyConfig is the kind of proxy configs.
const KindProxyConfig Kind = "proxy_configs"

// Proxy config environments.
const (
	EnvSandbox    = "sandbox"
	EnvProduction = "production"
)

// ProxyConfig is a deployed, versioned copy of a service's gateway configuration.
type ProxyConfig struct {
	ID          int64           `json:"id" wire:"ro"`
	ServiceID   int64           `json:"service_id" wire:"ro"`
	Environment string          `json:"environment" wire:"ro"`
	Version     int64           `json:"version" wire:"ro"`
	Content     json.RawMessage `json:"content" wire:"ro"`
	CreatedAt   time.Time       `json:"created_at" wire:"ro"`
	UpdatedAt   time.Time       `json:"updated_at" wire:"ro"`
}

func (e *ProxyConfig) Key() int64                     { return e.ID }
func (e *ProxyConfig) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *ProxyConfig) created() time.Time             { return e.CreatedAt }
func (*ProxyConfig) info() kindInfo                   { return proxyConfigDef }

var proxyConfigDef = &kindDef[ProxyConfig, *ProxyConfig]{
	Kind:     KindProxyConfig,
	Table:    func(c *Composition) *Table[*ProxyConfig] { return &c.ProxyConfigs },
	Document: func(d *Document) *[]*ProxyConfig { return &d.ProxyConfigs },
	Validate: validateProxyConfig,
	Import: func(pc *ProxyConfig, ref func(string, int64) int64) {
		pc.ServiceID = ref("service_id", pc.ServiceID)
	},
}

func validateProxyConfig(c *Composition, pc *ProxyConfig) error {
	if _, ok := c.Services.Get(pc.ServiceID); !ok {
		return NotFound(KindService, pc.ServiceID)
	}
	v := &ValidationError{}
	oneOf(v, "environment", pc.Environment, EnvSandbox, EnvProduction)
	if pc.Version < 1 {
		v.Add("version", "must be greater than 0")
	}
	if !json.Valid(pc.Content) {
		v.Add("content", "is not valid JSON")
	}
	return v.Err()
}
