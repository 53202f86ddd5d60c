package policy

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// JWTVerifier verifies bearer tokens for policies (jwt_parser) as the
// gateway verifies its OpenID Connect services' tokens.
type JWTVerifier interface {
	// VerifyJWT checks token as a JWT of the OpenID Connect issuer at
	// issuerEndpoint (an http(s) URL without credentials) and returns its
	// claims. It may discover the issuer and fetch its keys, waiting as
	// long as ctx allows; it is called concurrently. The error never holds
	// the token.
	VerifyJWT(ctx context.Context, issuerEndpoint, token string) (map[string]any, error)
}

// jwtParser is APIcast's jwt_parser: "JWT Parser is used to parse the JSON
// Web Token (JWT) in the Authorization header and stores it in the request
// context that can be shared with other policies" (jwt_claim_check,
// keycloak_role_check, {{ jwt.* }} in Liquid). The token is verified
// against issuer_endpoint's keys, found by OpenID Connect discovery, with
// the checks of an OpenID Connect service's tokens (signature, iss, sub,
// aud, exp, nbf, iat, typ) but no client named: the gateway's own issuer
// client does it, with its key cache, its refusal of plain HTTP off
// loopback and --oidc-insecure-issuers.
//
// In the rewrite phase, the Authorization header's Bearer token, when
// valid, puts its claims in the context. With required: "If required flag
// is set to true and no JWT token is sent, APIcast will reject the request
// and send HTTP WWW-Authenticate response header" (WWW-Authenticate:
// Bearer); "If required flag is set to true and [the] JWT token is
// invalid, APIcast will also reject the request". Both refusals have the
// service's "authentication failed" status (error_status_auth_failed, 403
// by default), as APIcast's exit with auth_failed_status; without
// required, a missing or invalid token leaves the request as it came.
// "Not compatible with OIDC authentication mode": on an OpenID Connect
// service the policy does nothing (the apicast element verifies the
// service's tokens and sets the claims), as APIcast ignores it, warning.
//
// Differences: APIcast answers with the status alone (nginx's error page);
// here the body and content type are the service's error_auth_failed, as
// for its other authentication failures. An issuer_endpoint missing or
// not an http(s) URL is a configuration error naming the field; APIcast
// builds the policy without an issuer and refuses every token.
type jwtParser struct {
	issuer   string // without credentials
	required bool
	ignored  bool // an OpenID Connect service's chain
	env      *Env

	missing, refused prometheus.Counter
}

type jwtParserConfig struct {
	IssuerEndpoint string `json:"issuer_endpoint"`
	Required       bool   `json:"required"`
}

func newJWTParser(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg jwtParserConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	// The endpoint may hold credentials (https://client:secret@sso/...),
	// as 3scale stores issuer endpoints: never repeated in an error.
	endpoint := strings.TrimSpace(cfg.IssuerEndpoint)
	if endpoint == "" {
		return nil, Invalid("issuer_endpoint", "is required: the URL of the OpenID Connect issuer whose tokens are parsed, e.g. https://sso.example.com/auth/realms/x")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Invalid("issuer_endpoint", "is not an http(s) URL: set it to the OpenID Connect issuer, e.g. https://sso.example.com/auth/realms/x")
	}
	u.User = nil
	p := &jwtParser{issuer: u.String(), required: cfg.Required, env: env,
		missing: env.Metrics.Policy.WithLabelValues("jwt_parser", "missing"),
		refused: env.Metrics.Policy.WithLabelValues("jwt_parser", "refused")}
	if env.BackendVersion == "oidc" {
		p.ignored = true
		env.Log.Warn().Int64("service", env.ServiceID).
			Msg("jwt_parser is not compatible with OpenID Connect services: ignored, as APIcast ignores it (the service's own tokens are verified)")
	}
	return p, nil
}

func (p *jwtParser) Name() string { return "jwt_parser" }

func (p *jwtParser) Rewrite(c *Context) {
	if p.ignored {
		return
	}
	tok, given := BearerToken(c.R.Header.Get("Authorization"))
	if !given {
		if p.required {
			p.missing.Inc()
			c.W.Header()["Www-Authenticate"] = []string{"Bearer"}
			authorizationFailed(c, p.env)
		}
		return
	}
	claims, err := p.verify(c, tok)
	if err != nil {
		p.refused.Inc()
		p.env.Log.Debug().Err(err).Int64("service", p.env.ServiceID).Str("issuer", p.issuer).Msg("jwt_parser: access token refused")
		if p.required {
			authorizationFailed(c, p.env)
		}
		return
	}
	c.JWT = claims
}

var errNoVerifier = errors.New("this gateway verifies no tokens for policies")

func (p *jwtParser) verify(c *Context, tok string) (map[string]any, error) {
	if p.env.JWTVerifier == nil {
		return nil, errNoVerifier
	}
	return p.env.JWTVerifier.VerifyJWT(c.R.Context(), p.issuer, tok)
}
