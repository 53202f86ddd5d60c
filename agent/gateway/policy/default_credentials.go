package policy

import "encoding/json"

// defaultCredentialsPolicy is APIcast's "default_credentials" policy
// (Anonymous Access): "When the credentials are not provided in the request,
// this policy provides the default ones configured. You need to configure a
// user_key; or, the combination of app_id + app_key. Note: this policy
// should be placed before the APIcast policy in the chain." It sets
// Context.DefaultCredentials in the rewrite phase; the apicast element uses
// them when the request brings none, so the request is authorized, limited
// and counted as the application they belong to.
type defaultCredentialsPolicy struct {
	creds Credentials
}

type defaultCredentialsConfig struct {
	AuthType string  `json:"auth_type"`
	UserKey  *string `json:"user_key"`
	AppID    *string `json:"app_id"`
	AppKey   *string `json:"app_key"`
}

func newDefaultCredentials(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg defaultCredentialsConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if cfg.AuthType == "" {
		return nil, Invalid("auth_type", "is required (user_key or app_id_and_app_key)")
	}
	typ, err := OneOf("auth_type", cfg.AuthType, "", "user_key", "app_id_and_app_key")
	if err != nil {
		return nil, err
	}
	p := &defaultCredentialsPolicy{}
	if typ == "user_key" {
		if cfg.UserKey == nil || *cfg.UserKey == "" {
			return nil, Invalid("user_key", "is required when auth_type is user_key")
		}
		p.creds.UserKey = *cfg.UserKey
		return p, nil
	}
	if cfg.AppID == nil || *cfg.AppID == "" {
		return nil, Invalid("app_id", "is required when auth_type is app_id_and_app_key")
	}
	if cfg.AppKey == nil {
		return nil, Invalid("app_key", "is required when auth_type is app_id_and_app_key")
	}
	p.creds.AppID, p.creds.AppKey = *cfg.AppID, *cfg.AppKey
	return p, nil
}

func (p *defaultCredentialsPolicy) Name() string { return "default_credentials" }

// Rewrite offers the default credentials to the apicast element after it.
func (p *defaultCredentialsPolicy) Rewrite(c *Context) {
	c.DefaultCredentials = &p.creds
}
