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
//
// As APIcast's default_credentials.lua, it goes by the service's backend
// version, not by auth_type (which only says, in the schema, what must be
// configured): a backend version 1 service gets the configured user_key, a
// version 2 service the configured app_id and app_key, each only when
// configured ("No default user key configured", "No default app_id +
// app_key configured"), and any other (OpenID Connect) nothing
// ("Incompatible backend version"). The credentials count as missing, for
// the apicast element, as creds_missing says: version 1, no user_key;
// version 2, neither app_id nor app_key.
type defaultCredentialsPolicy struct {
	creds *Credentials // the service's version's; nil: none to give
}

type defaultCredentialsConfig struct {
	AuthType string  `json:"auth_type"`
	UserKey  *string `json:"user_key"`
	AppID    *string `json:"app_id"`
	AppKey   *string `json:"app_key"`
}

func newDefaultCredentials(conf json.RawMessage, env *Env) (Policy, error) {
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
	hasUserKey := cfg.UserKey != nil && *cfg.UserKey != ""
	hasAppID := cfg.AppID != nil && *cfg.AppID != ""
	if typ == "user_key" && !hasUserKey {
		return nil, Invalid("user_key", "is required when auth_type is user_key")
	}
	if typ == "app_id_and_app_key" && !hasAppID {
		return nil, Invalid("app_id", "is required when auth_type is app_id_and_app_key")
	}
	if typ == "app_id_and_app_key" && cfg.AppKey == nil {
		return nil, Invalid("app_key", "is required when auth_type is app_id_and_app_key")
	}
	p := &defaultCredentialsPolicy{}
	switch env.BackendVersion {
	case "", "1": // 3scale's default backend version
		if hasUserKey {
			p.creds = &Credentials{UserKey: *cfg.UserKey}
		}
	case "2":
		if hasAppID && cfg.AppKey != nil {
			p.creds = &Credentials{AppID: *cfg.AppID, AppKey: *cfg.AppKey}
		}
	}
	if p.creds == nil {
		env.Log.Warn().Str("policy", "default_credentials").Str("backend_version", env.BackendVersion).
			Msg("default_credentials: no default credentials of the service's backend version are configured: requests without credentials stay without")
	}
	return p, nil
}

func (p *defaultCredentialsPolicy) Name() string { return "default_credentials" }

// Rewrite offers the default credentials to the apicast element after it.
func (p *defaultCredentialsPolicy) Rewrite(c *Context) {
	if p.creds != nil {
		c.DefaultCredentials = p.creds
	}
}
