package policy

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
)

// tokenIntrospection is APIcast's token_introspection ("OAuth 2.0 Token
// Introspection"): "This policy executes OAuth 2.0 Token Introspection
// (https://tools.ietf.org/html/rfc7662) for every API call." In the access
// phase the bearer token of the request's Authorization header is POSTed
// to introspection_url as a form (token, token_type_hint=access_token). A
// 200 answer whose "active" is true lets the request through; anything
// else (active false or absent, another status, an answer that is not a
// JSON object, the endpoint unreachable) is refused with the service's
// "authentication failed" answer (error_auth_failed and its status, 403 by
// default), as APIcast refuses its "{ active = false }": the policy fails
// closed.
//
// The gateway authenticates to the endpoint as auth_type says:
// client_id+client_secret (the default) with HTTP Basic of
// client_id:client_secret, not form-encoded first (as APIcast);
// client_secret_jwt and private_key_jwt with client_id and a
// client_assertion (RFC 7523) signed HS256 with client_secret, or RS256
// with the RSA private key of certificate (a file on the agent for
// certificate_type path, the default, or a data: URL for embedded); its iss
// and sub are client_id, aud client_jwt_assertion_audience, jti the
// request's id, exp client_jwt_assertion_expires_in seconds (default 60)
// after iat.
//
// Caching, as APIcast's tokens_cache: with max_cached_tokens above 0 (at
// most 10000) the endpoint's 200 answers, inactive ones too, are kept
// until the token's exp, for at most max_ttl_tokens seconds (1 to 3600);
// an answer with neither, or whose exp has passed, is not kept. When the
// cache is full the least recently used answer goes.
//
// Differences, and why:
//   - auth_type use_3scale_oidc_issuer_endpoint is refused (the service
//     fails closed; home refuses to save the chain): it takes the client
//     credentials from the user info of the service's oidc_issuer_endpoint,
//     which home strips from the agents' view (composition.AgentView) so
//     that no agent holds them.
//   - The endpoint is called with the gateway's issuer client
//     (Env.IdentityClient), under DESIGN's "HTTPS everywhere off loopback":
//     the call carries the token and the client's credentials, so plain
//     HTTP reaches loopback only unless the agent runs with
//     --oidc-insecure-issuers (an introspection_url naming an address off
//     loopback is refused when the chain is built, a name when it is
//     dialled); no redirect is followed; the answer is bounded in size and
//     time.
//   - Concurrent requests whose token is not cached share one call; the
//     cache is keyed by the token's SHA-256, never the token, and outlives
//     a chain rebuilt with the same configuration (Env.Shared).
//   - A request without a bearer token is refused without a call (APIcast
//     posts a form without token, which no endpoint answers active).
//   - Neither the token nor a credential is ever logged (APIcast logs the
//     token of an inactive answer).
//   - What APIcast would run with every request refused is refused when the
//     chain is built: a required field missing or empty, an unreadable or
//     non-RSA key (a path is read by the agent; home's check cannot), an
//     introspection_url that is not http(s), a client assertion lifetime
//     outside 1 s to 24 h. So is an introspection_url with user:password@
//     (the client's credentials are client_id and client_secret).
//
// Events (portolan_agent_gateway_policy_events_total): introspected (calls
// made), cached (answers from the cache), denied (no token, or not
// active), failed (the call failed).
type tokenIntrospection struct {
	env      *Env
	endpoint string // introspection_url
	shown    string // the endpoint as logs show it, without credentials or query
	authType string
	clientID string
	basic    string          // the Authorization header of client_id+client_secret
	hmacKey  []byte          // client_secret_jwt's key
	rsaKey   *rsa.PrivateKey // private_key_jwt's key; nil in home's check of a path
	audience string
	lifetime time.Duration // of a client assertion
	maxTTL   time.Duration // max_ttl_tokens; 0: none
	store    *introspections

	denied, failed, calls, hits prometheus.Counter
}

type tokenIntrospectionConfig struct {
	AuthType           string  `json:"auth_type"`
	IntrospectionURL   *string `json:"introspection_url"`
	ClientID           *string `json:"client_id"`
	ClientSecret       *string `json:"client_secret"`
	MaxTTLTokens       *int    `json:"max_ttl_tokens"`
	MaxCachedTokens    *int    `json:"max_cached_tokens"`
	AssertionExpiresIn *int    `json:"client_jwt_assertion_expires_in"`
	AssertionAudience  *string `json:"client_jwt_assertion_audience"`
	CertificateType    string  `json:"certificate_type"`
	Certificate        *string `json:"certificate"`
}

// Token introspection bounds.
const (
	maxIntrospectionAnswer = 128 << 10        // bytes of the endpoint's answer
	introspectionTimeout   = 10 * time.Second // one call, answer included
	maxIntrospectedToken   = 16 << 10         // a longer token is refused without a call
	maxCertificateBytes    = 64 << 10         // read of a private key file, or of a data: URL's
	maxAssertionLifetime   = 24 * time.Hour
	maxTokensCached        = 10_000 // max_cached_tokens' maximum
	maxTokensTTL           = 3600   // max_ttl_tokens' maximum, in seconds
)

const (
	authBasic     = "client_id+client_secret"
	authIssuer    = "use_3scale_oidc_issuer_endpoint"
	authSecretJWT = "client_secret_jwt"
	authKeyJWT    = "private_key_jwt"
)

func newTokenIntrospection(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg tokenIntrospectionConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	authType, err := OneOf("auth_type", cfg.AuthType, authBasic, authIssuer, authBasic, authSecretJWT, authKeyJWT)
	if err != nil {
		return nil, err
	}
	if authType == authIssuer {
		return nil, Invalid("auth_type", "use_3scale_oidc_issuer_endpoint takes the client credentials from the service's "+
			"oidc_issuer_endpoint, which home never sends to agents: use auth_type client_id+client_secret "+
			"with introspection_url, client_id and client_secret")
	}
	p := &tokenIntrospection{env: env, authType: authType,
		denied: env.Metrics.Policy.WithLabelValues("token_introspection", "denied"),
		failed: env.Metrics.Policy.WithLabelValues("token_introspection", "failed"),
		calls:  env.Metrics.Policy.WithLabelValues("token_introspection", "introspected"),
		hits:   env.Metrics.Policy.WithLabelValues("token_introspection", "cached")}
	if p.endpoint, err = required("introspection_url", cfg.IntrospectionURL); err != nil {
		return nil, err
	}
	u, err := p.checkEndpoint(env)
	if err != nil {
		return nil, err
	}
	if p.clientID, err = required("client_id", cfg.ClientID); err != nil {
		return nil, err
	}
	var secret string
	if authType != authKeyJWT {
		if secret, err = required("client_secret", cfg.ClientSecret); err != nil {
			return nil, err
		}
	}
	switch authType {
	case authBasic:
		p.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(p.clientID+":"+secret))
	default:
		if err := p.assertionSettings(cfg, secret, env); err != nil {
			return nil, err
		}
	}
	maxCached := 0
	if v := cfg.MaxCachedTokens; v != nil {
		if *v < 0 || *v > maxTokensCached {
			return nil, Invalid("max_cached_tokens", "must be between 0 (no cache) and %d, not %d", maxTokensCached, *v)
		}
		maxCached = *v
	}
	if v := cfg.MaxTTLTokens; v != nil {
		if *v < 1 || *v > maxTokensTTL {
			return nil, Invalid("max_ttl_tokens", "must be between 1 and %d seconds, not %d", maxTokensTTL, *v)
		}
		p.maxTTL = time.Duration(*v) * time.Second
	}
	p.store = introspectionStore(env, p.configKey(secret, maxCached), maxCached)
	if env.InsecureIssuers && plainOffLoopback(u) && p.store.warned.CompareAndSwap(false, true) {
		env.Log.Warn().Str("policy", "token_introspection").Str("service", env.ServiceSystemName).Str("introspection_url", p.shown).
			Msg("token_introspection: the endpoint is called over plain HTTP, not known to stay on loopback (--oidc-insecure-issuers): " +
				"anyone on the way reads the access tokens and the client's credentials")
	}
	return p, nil
}

// required is the value of a required string field, refused when absent or
// empty.
func required(field string, v *string) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return "", Invalid(field, "is required")
	}
	return *v, nil
}

// checkEndpoint checks introspection_url: absolute http(s), without
// credentials (client_id and client_secret say them), and, at the agent
// without --oidc-insecure-issuers, not plain HTTP to an address off
// loopback. Home's check (no IdentityClient) leaves the last to the agent,
// which may run with the flag.
func (p *tokenIntrospection) checkEndpoint(env *Env) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(p.endpoint))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Invalid("introspection_url", "must be an absolute http(s) URL, e.g. "+
			"https://sso.example.com/realms/x/protocol/openid-connect/token/introspect")
	}
	if u.User != nil {
		return nil, Invalid("introspection_url", "must not hold credentials (user:password@): set client_id and client_secret")
	}
	p.endpoint, p.shown = u.String(), redact.URL(u.String())
	if env.IdentityClient != nil && u.Scheme == "http" && !env.InsecureIssuers {
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !ip.Unmap().IsLoopback() {
			return nil, Invalid("introspection_url", "plain HTTP to %s, off loopback, is refused: the access tokens and the "+
				"client's credentials would cross the network in clear (use the endpoint's https URL, or start the agent "+
				"with --oidc-insecure-issuers to take that risk)", ip)
		}
	}
	return u, nil
}

// plainOffLoopback reports whether u is plain HTTP to a host not known as
// loopback by its address or name.
func plainOffLoopback(u *url.URL) bool {
	return u.Scheme == "http" && !loopback.Host(u.Hostname())
}

func (p *tokenIntrospection) Name() string { return "token_introspection" }

// Access lets the request through when the endpoint says its token is
// active, from the cache or from a call that concurrent requests with the
// same token share.
func (p *tokenIntrospection) Access(c *Context) {
	tok, ok := BearerToken(c.R.Header.Get("Authorization"))
	if !ok || tok == "" || len(tok) > maxIntrospectedToken {
		p.refuse(c, p.denied, "no bearer token, or one too long")
		return
	}
	key := sha256.Sum256([]byte(tok))
	active, cached, call, leader := p.store.begin(key, p.now())
	if cached {
		p.hits.Inc()
		if !active {
			p.refuse(c, p.denied, "the token is not active (cached answer)")
		}
		return
	}
	if leader {
		p.calls.Inc()
		body, err := p.form(tok, c.requestID())
		// Detached from the request: the others waiting on the call must
		// not fail because its first client left. It ends within
		// introspectionTimeout.
		go p.run(key, call, body, err)
	}
	select {
	case <-call.done:
	case <-c.R.Context().Done():
		p.refuse(c, p.failed, "the client left while the token was introspected")
		return
	}
	switch {
	case call.err != nil:
		p.refuse(c, p.failed, "the introspection failed")
	case !call.active:
		p.refuse(c, p.denied, "the token is not active")
	}
}

// refuse answers APIcast's "authentication failed", counting it in m. why
// never holds the token.
func (p *tokenIntrospection) refuse(c *Context, m prometheus.Counter, why string) {
	m.Inc()
	p.env.Log.Debug().Str("policy", "token_introspection").Str("service", p.env.ServiceSystemName).Msg("token_introspection: refused: " + why)
	authorizationFailed(c, p.env)
}

// run makes the call of key and publishes its outcome (once: the
// endpoint's trouble is logged here, not by each waiting request).
func (p *tokenIntrospection) run(key [32]byte, call *introspectionCall, body string, err error) {
	var ttl time.Duration
	if err == nil {
		call.active, ttl, err = p.introspect(body)
	}
	if err != nil {
		p.env.Log.Warn().Err(err).Str("policy", "token_introspection").Str("service", p.env.ServiceSystemName).
			Str("introspection_url", p.shown).Msg("token_introspection: refusing the token, the introspection failed")
	}
	p.store.finish(key, call, ttl, err, p.now())
}

// form is the body of the call (RFC 7662 section 2.1), with the client
// assertion of the JWT auth types (RFC 7523 section 2.2).
func (p *tokenIntrospection) form(tok, jti string) (string, error) {
	v := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	if p.authType == authSecretJWT || p.authType == authKeyJWT {
		a, err := p.assertion(jti, p.now())
		if err != nil {
			return "", err
		}
		v.Set("client_id", p.clientID)
		v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		v.Set("client_assertion", a)
	}
	return v.Encode(), nil
}

// introspect POSTs body to the endpoint and reads whether the token is
// active and how long the answer may be kept (0: not kept).
func (p *tokenIntrospection) introspect(body string) (bool, time.Duration, error) {
	client := p.env.IdentityClient
	if client == nil {
		return false, 0, errors.New("the gateway gave the policy no client for identity providers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), introspectionTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, strings.NewReader(body))
	if err != nil {
		return false, 0, fmt.Errorf("the introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.basic != "" {
		req.Header.Set("Authorization", p.basic)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL is logged apart, redacted
		}
		return false, 0, fmt.Errorf("calling the introspection endpoint: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionAnswer+1))
	switch {
	case resp.StatusCode != http.StatusOK:
		return false, 0, fmt.Errorf("the introspection endpoint answered status %d (401 or 403: check the client's credentials; "+
			"redirects are not followed: set the URL that answers)", resp.StatusCode)
	case err != nil:
		return false, 0, fmt.Errorf("reading the introspection answer: %w", err)
	case len(b) > maxIntrospectionAnswer:
		return false, 0, fmt.Errorf("the introspection answer is over %d bytes", maxIntrospectionAnswer)
	}
	var ans struct {
		Active json.RawMessage `json:"active"`
		Exp    any             `json:"exp"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return false, 0, fmt.Errorf("the introspection answer is not a JSON object: %w", err)
	}
	// RFC 7662 2.2: "active" is a boolean; nothing else means active.
	return string(ans.Active) == "true", p.keepFor(ans.Exp, p.now()), nil
}
