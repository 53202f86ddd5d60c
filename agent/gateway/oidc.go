package gateway

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

// oidcLeeway is the clock skew allowed on exp and nbf. APIcast allows none
// (lua-resty-jwt's system leeway is 0 and APIcast does not set it); a few
// seconds keep a gateway on a board without a good clock working, and are
// far below any token's lifetime.
const oidcLeeway = 10 * time.Second

// maxTokenLen bounds the access token read from a request; a longer one is
// refused unparsed.
const maxTokenLen = 16 << 10

// oidcService is how an OpenID Connect service's apicast element reads and
// checks access tokens, as APIcast's oauth/oidc.lua does: the token is a
// JWT signed by the service's issuer (oidc_issuer_endpoint) with one of its
// JWKS keys, with iss equal to the issuer its discovery document names, sub
// and aud present, exp not passed, nbf passed when given, iat positive when
// given and typ Bearer when given; the client is the azp claim (or the one
// jwt_claim_with_client_id names; without azp, a single aud) and must be an
// application of the service.
type oidcService struct {
	issuer      *oidcIssuer
	location    string // the proxy's credentials_location
	clientClaim string // the claim naming the client, or the template that renders it
	// clientTemplate renders the client from the claims
	// (jwt_claim_with_client_id_type liquid); nil: clientClaim is a claim.
	clientTemplate *policy.Template
	refused        prometheus.Counter
	dpop           bool // the chain has oauth_dpop: the token may come with the DPoP scheme, typ DPoP (credentials.go)
}

// newOIDCService prepares the OIDC checks of a service's proxy settings.
// The issuer endpoint is stored as 3scale stores it, often with the
// client's credentials (https://client:secret@issuer/realms/x): they are
// dropped here and never logged.
func (g *Gateway) newOIDCService(p *composition.Proxy) (*oidcService, error) {
	u, err := url.Parse(strings.TrimSpace(p.OIDCIssuerEndpoint))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("its oidc_issuer_endpoint is not an http(s) URL: set it to the issuer, e.g. https://sso.example.com/auth/realms/x")
	}
	u.User = nil
	s := &oidcService{
		issuer:      g.oidc.get(u.String()),
		location:    p.CredentialsLocation,
		clientClaim: "azp",
		refused:     g.policyMetrics.Policy.WithLabelValues("apicast", "oidc_token_refused"),
		dpop:        hasDPoP(p.PolicyChain),
	}
	switch claim := strings.TrimSpace(p.JwtClaimWithClientID); p.JwtClaimWithClientIDType {
	case "", "plain":
		if claim != "" {
			s.clientClaim = claim
		}
	case "liquid":
		// Porta: "When set to Liquid you can define more complex rules",
		// rendered with the token's claims as the context.
		t, err := policy.CompileTemplate("jwt_claim_with_client_id", claim, true)
		if err != nil {
			return nil, err
		}
		s.clientClaim, s.clientTemplate = claim, t
	default:
		return nil, fmt.Errorf("jwt_claim_with_client_id_type %q is not one of plain, liquid", p.JwtClaimWithClientIDType)
	}
	return s, nil
}

// VerifyJWT is policy.JWTVerifier (jwt_parser): token checked as an OpenID
// Connect service's are, against the issuer at issuerEndpoint (discovered,
// its keys cached and refreshed, its fetches under the same rules), but
// naming no client. sub stands for the client claim: checkClaims refuses a
// token without one before the client is looked for, so none is refused
// for want of azp.
func (x *oidcIssuers) VerifyJWT(ctx context.Context, issuerEndpoint, token string) (map[string]any, error) {
	s := oidcService{issuer: x.get(issuerEndpoint), clientClaim: "sub"}
	claims, _, err := s.verify(ctx, token, time.Now())
	return claims, err
}

// token returns the access token r presents, as APIcast's oauth credentials
// are read (configuration/service.lua, version_oauth): the access_token
// query parameter (or form body), the access_token header, or the
// Authorization bearer token, as credentials_location says, and the bearer
// token whatever it says (RFC 6750 2.1: resource servers must support it).
// given reports whether r presented one, empty or not: a token sent empty
// ("?access_token=", "Authorization: Bearer") is given, as APIcast's
// "access_token = ngx.var['arg_' .. name] or ..." keeps nginx's "" (Lua's
// "" is true), so the bearer token is not read instead, and the empty
// token is refused as no JWT ("Authentication failed"), not missing.
func (s *oidcService) token(r *http.Request) (tok string, given bool) {
	if tok, given = s.lookupToken(r); len(tok) > maxTokenLen {
		return tok[:maxTokenLen+1], given
	}
	return tok, given
}

// lookupToken returns the token r presents and whether it presented one,
// empty or not: with oauth_dpop in the chain, the DPoP scheme's first.
func (s *oidcService) lookupToken(r *http.Request) (string, bool) {
	if tok, ok := s.dpopToken(r); ok {
		return tok, true
	}
	var tok string
	var given bool
	switch s.location {
	case composition.CredentialsHeaders:
		tok, given = headerLookup(r.Header, &accessTokenHeaders)
	case composition.CredentialsAuthorization:
	default:
		if tok, given = queryLookup(r.URL.RawQuery, "access_token"); !given {
			tok, given = queryLookup(formBody(r), "access_token")
		}
	}
	if !given {
		tok, given = policy.BearerToken(r.Header.Get("Authorization"))
	}
	return tok, given
}

var accessTokenHeaders = headerKeys("access_token")

// verify checks raw and returns its claims and the client it names. An
// error wrapping errIssuerUnavailable means the issuer could not be
// discovered, or has not confirmed its keys for too long; any other, the
// token is refused.
func (s *oidcService) verify(ctx context.Context, raw string, now time.Time) (map[string]any, string, error) {
	if raw == "" {
		return nil, "", errors.New("the access token was sent empty")
	}
	if len(raw) > maxTokenLen {
		return nil, "", errors.New("access token too long")
	}
	v, err := s.issuer.verifierFor(ctx)
	if err != nil {
		return nil, "", err
	}
	// A token verified before is trusted no longer than the keys that
	// verified it.
	claims, ok := map[string]any(nil), false
	if !v.keys.stale(v.keys.keys.Load()) {
		claims, ok = s.issuer.verified.get(raw, now)
	}
	if !ok {
		tok, err := v.Verify(ctx, raw)
		if err != nil {
			if v.keys.stale(v.keys.keys.Load()) {
				return nil, "", fmt.Errorf("%w: %w", errIssuerUnavailable, err)
			}
			return nil, "", err
		}
		if err := tok.Claims(&claims); err != nil {
			return nil, "", fmt.Errorf("claims: %w", err)
		}
		// go-oidc matched iss case-insensitively into its struct, where
		// the last of "iss", "ISS" or "Iss" wins; the claims everyone
		// after reads must name the issuer exactly.
		if claims["iss"] != v.issuer {
			return nil, "", errors.New("the token's iss claim is not the issuer's")
		}
		if exp, ok := numericDate(claims["exp"]); ok {
			s.issuer.verified.put(raw, claims, exp.Add(oidcLeeway))
		}
	}
	if err := checkClaims(claims, now, s.dpop); err != nil {
		return nil, "", err
	}
	client, err := s.clientOf(claims)
	if err != nil {
		return nil, "", err
	}
	return claims, client, nil
}

// checkClaims applies RFC 7523 section 3 as APIcast does (iss is checked by
// verify); with dpop, typ may also be DPoP.
func checkClaims(c map[string]any, now time.Time, dpop bool) error {
	if s, _ := c["sub"].(string); s == "" {
		return errors.New("the token has no sub")
	}
	switch aud := c["aud"].(type) {
	case string:
		if aud == "" {
			return errors.New("the token has no aud")
		}
	case []any:
		if len(aud) == 0 {
			return errors.New("the token has no aud")
		}
	default:
		return errors.New("the token has no aud")
	}
	exp, ok := numericDate(c["exp"])
	if !ok {
		return errors.New("the token has no exp")
	}
	if now.After(exp.Add(oidcLeeway)) {
		return fmt.Errorf("the token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if v, present := c["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok || now.Add(oidcLeeway).Before(nbf) {
			return errors.New("the token is not valid yet (nbf)")
		}
	}
	if v, present := c["iat"]; present {
		if f, ok := v.(float64); !ok || f <= 0 {
			return errors.New("the token's iat is not a positive number")
		}
	}
	if v, present := c["typ"]; present && v != "Bearer" && (!dpop || v != "DPoP") {
		return errors.New("the token's typ is not Bearer") // Keycloak's ID tokens have typ ID
	}
	return nil
}

func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// clientOf is the client the token was issued to: the configured claim
// (azp by default), or what its Liquid template renders. Without azp, as
// OpenID Connect Core 1.0 section 2 puts it, the audience is the client:
// aud must then name exactly one, so a token for another audience names an
// unknown application and one for several audiences names none.
func (s *oidcService) clientOf(claims map[string]any) (string, error) {
	if s.clientTemplate != nil {
		client := s.clientTemplate.RenderClaims(claims)
		if client == "" {
			return "", fmt.Errorf("jwt_claim_with_client_id %s renders no client for the token", s.clientClaim)
		}
		return client, nil
	}
	azp, hasAzp := claims[s.clientClaim]
	if client := clientOf(azp); hasAzp || s.clientClaim != "azp" {
		// An azp that names no client is a malformed token, not one
		// without azp: APIcast takes payload.azp as it is.
		if client == "" {
			return "", fmt.Errorf("the token has no %s claim naming its client", s.clientClaim)
		}
		return client, nil
	}
	switch aud := claims["aud"].(type) {
	case string:
		return aud, nil
	case []any:
		if len(aud) == 1 {
			if a, _ := aud[0].(string); a != "" {
				return a, nil
			}
		}
	}
	return "", errors.New("the token has no azp and its aud does not name one client")
}

// clientOf is the client a claim names: its string, or the first of an
// array of them, as APIcast takes it.
func clientOf(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case []any:
		if len(c) > 0 {
			s, _ := c[0].(string)
			return s
		}
	}
	return ""
}

// oidcAuthenticate finds the application whose client_id (app_id) is
// clientID. The signed token is the proof: as apisonator's oauth_authrep,
// which APIcast calls for OIDC services, the application's keys (its
// client secrets) are not asked for, but it must be live.
func oidcAuthenticate(apps *composition.AppIndex, clientID string) (*composition.Application, *composition.ApplicationPlan, *composition.Denial) {
	app, plan, d := apps.Authenticate(composition.Credentials{AppID: clientID})
	if d != nil && d.Code == composition.DenialAppKeyInvalid && app != nil {
		d = nil
		if app.State != composition.AppLive {
			d = &composition.Denial{Code: composition.DenialApplicationNotActive, Reason: "application is not active"}
		}
	}
	return app, plan, d
}

// verifyToken checks an OIDC service's access token in the apicast
// element's rewrite phase, as APIcast does: the claims go to c.JWT for the
// policies after it, the client to cred. A refused token, or an issuer that
// cannot be reached, is APIcast's "authentication failed" (APIcast, whose
// keys come from the issuer at configuration load, refuses every token of
// an issuer it could not reach the same way).
func (a *apicastElement) verifyToken(c *policy.Context, token string, cred *composition.Credentials) bool {
	g, v := a.g, a.v
	claims, client, err := v.oidc.verify(c.R.Context(), token, time.Now())
	if err != nil {
		g.m.authFailed.Inc()
		if errors.Is(err, errIssuerUnavailable) {
			g.log.Warn().Err(err).Str("service", v.service).Msg("gateway: OpenID Connect issuer unavailable: refusing tokens")
		} else {
			v.oidc.refused.Inc()
			g.log.Debug().Err(err).Str("service", v.service).Msg("gateway: access token refused")
		}
		v.errAuthFailed.respond(c)
		return false
	}
	c.JWT = claims
	*cred = composition.Credentials{AppID: client}
	return true
}
