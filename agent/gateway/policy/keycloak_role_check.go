package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
)

// keycloakRoleCheck is APIcast's keycloak_role_check ("RH-SSO/Keycloak Role
// Check"): "This policy verifies realm roles and client roles in the
// access token." Each scope names a resource ("the same format as Mapping
// Rules. This matches from the beginning of the string and to make an
// exact match you need to use '$' at the end"), the methods it applies to
// (default ANY), and the realm roles (the token's realm_access.roles) and
// client roles (resource_access.<client>.roles) a token must all hold.
// Resources, role names and clients are plain text or Liquid rendered for
// the request ({{ jwt.aud }}).
//
// In the access phase the scopes are tried in order against the request's
// method and path (after url_rewriting, as nginx's $uri): a scope that
// matches and whose roles the token all holds grants the request; one that
// matches without them refuses it unless another scope grants it. With
// type whitelist (the default) a request no scope grants is refused, with
// blacklist one that a scope grants is. whitelist_deny_unmatched (APIcast's
// newer manifests; default true) set to false lets a whitelist pass the
// requests no scope's resource and methods match. A request without a
// verified token (a service that is not OpenID Connect) holds no role: a
// whitelist refuses it, a blacklist lets it through, as APIcast's check
// without context.jwt does. A refusal is APIcast's
// errors.authorization_failed: the service's "authentication failed"
// answer (error_auth_failed, its status, 403 by default, and content type).
//
// Differences, all refusing what APIcast would let fail later: a scope
// without a resource, a role without a name and a client role without a
// client are configuration errors (APIcast's mapping rule fails on a
// missing pattern at every request, and a nameless role matches no token,
// so such a scope never grants); a Liquid resource that renders to no
// valid pattern refuses the request in either type (an error in APIcast's
// access phase).
type keycloakRoleCheck struct {
	blacklist     bool
	denyUnmatched bool
	scopes        []roleScope
	denied        prometheus.Counter
	env           *Env
}

type keycloakRoleCheckConfig struct {
	Type                   string `json:"type"`
	WhitelistDenyUnmatched *bool  `json:"whitelist_deny_unmatched"`
	Scopes                 []struct {
		RealmRoles []struct {
			Name     *string `json:"name"`
			NameType string  `json:"name_type"`
		} `json:"realm_roles"`
		ClientRoles []struct {
			Name       *string `json:"name"`
			NameType   string  `json:"name_type"`
			Client     *string `json:"client"`
			ClientType string  `json:"client_type"`
		} `json:"client_roles"`
		Resource     *string  `json:"resource"`
		ResourceType string   `json:"resource_type"`
		Methods      []string `json:"methods"`
	} `json:"scopes"`
}

type roleScope struct {
	methods  []string // nil: any
	resource *Template
	pattern  *composition.Pattern // the resource's, when it is static
	realm    []*Template          // role names
	clients  []clientRole
}

type clientRole struct {
	client, name *Template
}

// scopeResult is what the scopes say of a request.
type scopeResult int

const (
	scopesUnmatched scopeResult = iota // no scope's resource and methods match
	scopesRefused                      // some match, none with its roles held
	scopesGranted                      // a matching scope's roles are all held
	scopesInvalid                      // a Liquid resource rendered to no pattern
)

func newKeycloakRoleCheck(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg keycloakRoleCheckConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	typ, err := OneOf("type", cfg.Type, "whitelist", "whitelist", "blacklist")
	if err != nil {
		return nil, err
	}
	p := &keycloakRoleCheck{blacklist: typ == "blacklist", denyUnmatched: true, env: env,
		denied: env.Metrics.Policy.WithLabelValues("keycloak_role_check", "denied")}
	if cfg.WhitelistDenyUnmatched != nil {
		p.denyUnmatched = *cfg.WhitelistDenyUnmatched
	}
	// template compiles a required value of the scope at field, plain or
	// Liquid as its type field says.
	template := func(field string, v *string, typ string) (*Template, error) {
		if v == nil {
			return nil, Invalid(field, "is required")
		}
		t, err := OneOf(field+"_type", typ, "plain", "plain", "liquid")
		if err != nil {
			return nil, err
		}
		return CompileTemplate(field, *v, t == "liquid")
	}
	for i, sc := range cfg.Scopes {
		field := func(f string) string { return fmt.Sprintf("scopes[%d].%s", i, f) }
		var s roleScope
		for j, m := range sc.Methods {
			if !slices.Contains(claimCheckMethods, m) {
				return nil, Invalid(fmt.Sprintf("scopes[%d].methods[%d]", i, j), "must be one of %v, not %q", claimCheckMethods, m)
			}
			if m == "ANY" {
				s.methods = nil
				break
			}
			s.methods = append(s.methods, m)
		}
		if s.resource, err = template(field("resource"), sc.Resource, sc.ResourceType); err != nil {
			return nil, err
		}
		if s.resource.IsStatic() {
			if s.pattern, err = composition.ParsePattern(s.resource.Render(nil, env)); err != nil {
				return nil, Invalid(field("resource"), "%v", err)
			}
		}
		for j, r := range sc.RealmRoles {
			name, err := template(fmt.Sprintf("scopes[%d].realm_roles[%d].name", i, j), r.Name, r.NameType)
			if err != nil {
				return nil, err
			}
			s.realm = append(s.realm, name)
		}
		for j, r := range sc.ClientRoles {
			rf := func(f string) string { return fmt.Sprintf("scopes[%d].client_roles[%d].%s", i, j, f) }
			var cr clientRole
			if cr.name, err = template(rf("name"), r.Name, r.NameType); err != nil {
				return nil, err
			}
			if cr.client, err = template(rf("client"), r.Client, r.ClientType); err != nil {
				return nil, err
			}
			s.clients = append(s.clients, cr)
		}
		p.scopes = append(p.scopes, s)
	}
	return p, nil
}

func (p *keycloakRoleCheck) Name() string { return "keycloak_role_check" }

func (p *keycloakRoleCheck) Access(c *Context) {
	res := p.check(c)
	var deny bool
	switch {
	case res == scopesInvalid:
		deny = true
	case p.blacklist:
		deny = res == scopesGranted
	default:
		deny = res == scopesRefused || res == scopesUnmatched && p.denyUnmatched
	}
	if deny {
		p.denied.Inc()
		authorizationFailed(c, p.env)
	}
}

// check tries the scopes in order, as APIcast's scopes_check does.
func (p *keycloakRoleCheck) check(c *Context) scopeResult {
	if c.JWT == nil {
		return scopesRefused
	}
	res := scopesUnmatched
	for i := range p.scopes {
		s := &p.scopes[i]
		if s.methods != nil && !slices.Contains(s.methods, c.R.Method) {
			continue
		}
		pat := s.pattern
		if pat == nil {
			var err error
			if pat, err = composition.ParsePattern(s.resource.Render(c, p.env)); err != nil {
				return scopesInvalid
			}
		}
		if !pat.Match(c.R.URL.Path, nil) {
			continue
		}
		if s.holds(c, p.env) {
			return scopesGranted
		}
		res = scopesRefused
	}
	return res
}

// holds reports whether the token has every realm and client role of s.
func (s *roleScope) holds(c *Context, env *Env) bool {
	realm, _ := c.JWT["realm_access"].(map[string]any)
	for _, name := range s.realm {
		if realm == nil || !hasRole(realm["roles"], name.Render(c, env)) {
			return false
		}
	}
	clients, _ := c.JWT["resource_access"].(map[string]any)
	for _, r := range s.clients {
		if clients == nil {
			return false
		}
		client, _ := clients[r.client.Render(c, env)].(map[string]any)
		if client == nil || !hasRole(client["roles"], r.name.Render(c, env)) {
			return false
		}
	}
	return true
}

// hasRole reports whether roles, a claim's array, holds the string role.
func hasRole(roles any, role string) bool {
	list, _ := roles.([]any)
	for _, r := range list {
		if s, ok := r.(string); ok && s == role {
			return true
		}
	}
	return false
}

// authorizationFailed answers as APIcast's errors.authorization_failed: the
// service's "authentication failed" answer, or 3scale's default one when the
// gateway gave none.
func authorizationFailed(c *Context, env *Env) {
	if env.AuthFailed != nil {
		env.AuthFailed(c)
		return
	}
	c.Respond(http.StatusForbidden, "text/plain; charset=us-ascii", []byte("Authentication failed\n"))
}
