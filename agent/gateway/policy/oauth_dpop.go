package policy

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// oauthDPoP is APIcast's oauth_dpop ("OAuth 2.0 Demonstrating Proof of
// Possession (DPoP)"): "This policy executes OAuth 2.0 Demonstrating Proof
// of Possession (DPoP) (https://tools.ietf.org/html/rfc9449) for every API
// call". It has no configuration. APIcast's implementation is not at hand
// (only its manifest), so the checks are RFC 9449's, as written:
//
// In the access phase a request passes only when the apicast element
// verified its access token (an OpenID Connect service: Context.JWT), the
// token came as "Authorization: DPoP <token>" (section 7.1), and the one
// DPoP header holds a proof that passes every check of section 4.3: a
// compact JWS of at most 8 KiB; typ "dpop+jwt"; an asymmetric alg (RS,
// PS and ES 256/384/512, EdDSA; never none or HS*); a public jwk (RSA of
// 2048 bits or more) that verifies the signature; jti, htm, htu, iat and
// ath present; htm the request's method; htu the request's URI (below);
// iat at most 60 s old and at most 10 s ahead of the gateway's clock; ath
// the base64url SHA-256 of the token; the token's cnf.jkt the RFC 7638
// SHA-256 thumbprint of the jwk (section 6.1); and its key and jti never
// accepted before (section 11.1; dpopReplay says how it stays bounded).
//
// htu is compared with the URI the client used: https when the gateway was
// reached over TLS (HTTP/1.1 or HTTP/2), http otherwise, the Host (or
// :authority) as the client sent it, before any policy rewrote it, and
// the path as the client sent it, before url_rewriting or routing changed
// it. Query and fragment are ignored on both sides; both are normalized
// as RFC 3986 section 6.2.2 and 6.2.3 say (case of scheme and host,
// default port, percent-encoding, dot segments). Forwarding headers are
// not trusted (a client may set them): behind a proxy that terminates TLS
// the gateway sees http, and clients must name http in htu.
//
// htu's host name must also be the host of the proxy's endpoint or
// sandbox_endpoint (Env.PublicBaseURLs), case aside. APIcast picks the
// service by host name (find_service), so another API's Host never reaches
// it there; the gateway serves its one service whatever the Host, so a
// proof made for another API could otherwise be replayed here with that
// API's Host. The port is not compared with the public URL's, as APIcast
// does not: behind a load balancer the gateway is reached on another port;
// htu's port must still be the Host's. Without public base URLs, every
// proof is refused.
//
// Refusals are 401 with a WWW-Authenticate DPoP challenge listing the
// accepted algs, as section 7.1 and RFC 6750 section 3 say, and a JSON
// body naming the error as oauth_mtls's does: error="invalid_dpop_proof"
// for a missing, repeated or failing proof; error="invalid_token" for a
// token bound to another key or to none ("Invalid DPoP key binding", the
// RFC's example), a DPoP-bound token (one with cnf.jkt) sent with the
// Bearer scheme or elsewhere (section 7.2), or no verified token at all;
// and a bare challenge (no error, RFC 6750 section 3.1) for an unbound
// token sent without the DPoP scheme. A refused proof does not use up its
// jti. With the policy in the chain, the gateway reads an OpenID Connect
// service's token from the DPoP scheme first, and accepts tokens whose typ
// claim is DPoP (Keycloak's DPoP-bound tokens), as well as Bearer.
//
// Of RFC 9449's options, server nonces (DPoP-Nonce, section 9) are not
// issued: the policy has no configuration to ask for them. Place it before
// apicast, so that a refused request is not counted: access phases run in
// chain order, as APIcast's do.
type oauthDPoP struct {
	replay *dpopReplay
	hosts  []string // the host names of the service's public base URLs, in lower case
	now    func() time.Time
	log    zerolog.Logger
	denied prometheus.Counter
}

// Bounds of a proof.
const (
	dpopMaxProof = 8 << 10          // bytes of the DPoP header; an RSA-4096 proof is about 2.5 KiB
	dpopMaxJTI   = 256              // bytes of jti; the RFC asks for 96 random bits or a UUID
	dpopMaxAge   = 60 * time.Second // how old iat may be
	dpopMaxAhead = 10 * time.Second // how far ahead of the gateway's clock iat may be (clients' clocks drift)
	dpopMinRSA   = 2048             // bits of an RSA jwk
)

// dpopAlgs are the proof algorithms accepted: RFC 7518's asymmetric ones
// and RFC 8037's EdDSA. The challenge lists them.
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512,
	jose.RS256, jose.RS384, jose.RS512, jose.EdDSA}

// dpopChallenge is the WWW-Authenticate parameter naming them.
var dpopChallenge = func() string {
	names := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		names[i] = string(a)
	}
	return `algs="` + strings.Join(names, " ") + `"`
}()

// The RFC 6750 / RFC 9449 error codes of a refusal.
const (
	dpopInvalidProof = "invalid_dpop_proof"
	dpopInvalidToken = "invalid_token"
)

// dpopRefusal is why a request is refused: its error code and description,
// fixed words that go into the challenge (never anything the request
// holds), and the detail for the debug log. Without a code, the challenge
// is bare. retryAfter, when set, makes it a 503: the gateway, not the
// client, is out of room.
type dpopRefusal struct {
	code, desc string
	err        error
	retryAfter time.Duration
}

// Error is the description and its detail, for the log.
func (r *dpopRefusal) Error() string {
	if r.err != nil {
		return r.desc + ": " + r.err.Error()
	}
	return r.desc
}

// proofRefusal is an invalid_dpop_proof refusal.
func proofRefusal(desc string, err error) *dpopRefusal {
	return &dpopRefusal{code: dpopInvalidProof, desc: desc, err: err}
}

// newOAuthDPoP builds the policy (its configuration is empty), with the
// gateway's replay cache.
func newOAuthDPoP(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg struct{}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &oauthDPoP{hosts: dpopServiceHosts(env.PublicBaseURLs), now: env.Now, log: env.Log,
		denied: routeCounter(env, "oauth_dpop", "denied")}
	if p.now == nil {
		p.now = time.Now
	}
	if env.Shared != nil {
		p.replay = env.Shared.Get("oauth_dpop.jti", func() any { return newDPoPReplay() }).(*dpopReplay)
	} else {
		p.replay = newDPoPReplay()
	}
	return p, nil
}

// dpopServiceHosts are the host names of urls (the service's public base
// URLs), in lower case, without port; those that do not parse are left
// out (home validates them).
func dpopServiceHosts(urls []string) []string {
	var hosts []string
	for _, s := range urls {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.Hostname() != "" {
			hosts = append(hosts, strings.ToLower(u.Hostname()))
		}
	}
	return hosts
}

// Name is the policy's name in chains.
func (p *oauthDPoP) Name() string { return "oauth_dpop" }

// Rewrite notes the Host the client sent, before a policy after this one
// rewrites it (headers): htu names the client's.
func (p *oauthDPoP) Rewrite(c *Context) { c.State(func() any { return c.R.Host }) }

// Access refuses the request unless its token and proof pass check.
func (p *oauthDPoP) Access(c *Context) {
	host, _ := c.State(func() any { return c.R.Host }).(string)
	if r := p.check(c, host); r != nil {
		p.denied.Inc()
		p.log.Debug().Err(r).Str("error", r.code).Msg("oauth_dpop: request refused")
		p.refuse(c, r)
	}
}

// check runs RFC 9449's checks on c's request; nil when it passes.
func (p *oauthDPoP) check(c *Context, host string) *dpopRefusal {
	if c.JWT == nil {
		return &dpopRefusal{code: dpopInvalidToken, desc: "no verified access token (oauth_dpop needs an OpenID Connect service)"}
	}
	cnf, _ := c.JWT["cnf"].(map[string]any)
	bound, _ := cnf["jkt"].(string)
	token, dpop := DPoPToken(c.R.Header.Get("Authorization"))
	if !dpop {
		if bound != "" {
			return &dpopRefusal{code: dpopInvalidToken, desc: "a DPoP-bound access token must be sent with the DPoP scheme"}
		}
		return &dpopRefusal{desc: "no DPoP scheme"} // no error code: the bare challenge
	}
	proofs := c.R.Header["Dpop"]
	switch {
	case len(proofs) == 0:
		return proofRefusal("no DPoP proof", nil)
	case len(proofs) > 1:
		return proofRefusal("more than one DPoP header", nil)
	}
	now := p.now()
	pr, r := checkProof(proofs[0], now)
	if r != nil {
		return r
	}
	if r := pr.matches(c.R, host, p.hosts, token); r != nil {
		return r
	}
	if bound == "" || subtle.ConstantTimeCompare([]byte(bound), []byte(pr.jkt)) != 1 {
		return &dpopRefusal{code: dpopInvalidToken, desc: "Invalid DPoP key binding"}
	}
	return replayRefusal(p.replay.admit(pr.jkt, pr.jti, pr.iat, now))
}

// replayRefusal is the refusal for the replay cache's answer err; nil for
// none.
func replayRefusal(err error) *dpopRefusal {
	var full *dpopKeysFull
	switch {
	case errors.Is(err, errDPoPForgotten):
		return proofRefusal("the DPoP proof is older than the replay cache remembers: send a fresh one", err)
	case errors.Is(err, errDPoPAhead):
		return proofRefusal("this key's DPoP proofs the replay cache keeps are all dated ahead of the gateway's clock: try again shortly", err)
	case errors.As(err, &full):
		r := proofRefusal("the replay cache keeps as many DPoP keys as it may: try again shortly", err)
		r.retryAfter = max(full.after, time.Second)
		return r
	case err != nil:
		return proofRefusal("the DPoP proof was used before", err)
	}
	return nil
}

// refuse answers 401 with the challenge of r, and a body naming its error
// when it has one; 503 with Retry-After when the replay cache is full, as
// the proof may be good and the gateway cannot tell.
func (p *oauthDPoP) refuse(c *Context, r *dpopRefusal) {
	if r.retryAfter > 0 {
		secs := int64(r.retryAfter/time.Second) + 1 // past the drop: a key goes once its time is over, not at it
		c.W.Header()["Retry-After"] = []string{strconv.FormatInt(secs, 10)}
		c.Respond(http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("DPoP proofs cannot be checked for replay now: the gateway's replay cache is full\n"))
		return
	}
	if r.code == "" {
		c.W.Header()["Www-Authenticate"] = []string{"DPoP " + dpopChallenge}
		c.Respond(http.StatusUnauthorized, "", nil)
		return
	}
	c.W.Header()["Www-Authenticate"] = []string{`DPoP error="` + r.code + `", error_description="` + r.desc + `", ` + dpopChallenge}
	c.Respond(http.StatusUnauthorized, "application/json; charset=utf-8", []byte(`{"error": "`+r.code+`"}`))
}

// DPoPToken is the access token of an Authorization header h under RFC
// 9449's DPoP scheme (section 7.1: "Authorization: DPoP <token>"), matched
// case-insensitively as BearerToken matches Bearer ("DPoP" alone: given,
// empty); given is false for another scheme.
func DPoPToken(h string) (tok string, given bool) { return schemeToken(h, "dpop") }

// dpopProof is what a verified proof says.
type dpopProof struct {
	jkt           string // the RFC 7638 SHA-256 thumbprint of its key, base64url
	jti, htm, htu string
	ath           string
	iat           time.Time
}

// dpopHeader is a proof's JOSE header as sent, read before go-jose sees it
// so that each refusal names its reason.
type dpopHeader struct {
	Typ string                     `json:"typ"`
	Alg string                     `json:"alg"`
	JWK map[string]json.RawMessage `json:"jwk"`
}

// jwkPrivateMembers are the JWK members that hold private or secret key
// material (RFC 7518 section 6.2.2, 6.3.2 and 6.4.1).
var jwkPrivateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// checkProof verifies proof as a DPoP proof JWT on its own (section 4.3,
// items 2 to 7 and the required claims) and returns what it says.
func checkProof(proof string, now time.Time) (*dpopProof, *dpopRefusal) {
	if len(proof) > dpopMaxProof {
		return nil, proofRefusal("the DPoP proof is too large", fmt.Errorf("%d bytes, more than %d", len(proof), dpopMaxProof))
	}
	head, _, ok := strings.Cut(proof, ".")
	if !ok || strings.Count(proof, ".") != 2 {
		return nil, proofRefusal("the DPoP proof is not a compact JWS", nil)
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	var h dpopHeader
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		return nil, proofRefusal("the DPoP proof's header is not base64url JSON", err)
	}
	if !strings.EqualFold(h.Typ, "dpop+jwt") { // a media type: case-insensitive (RFC 7515 section 4.1.9)
		return nil, proofRefusal("the DPoP proof's typ is not dpop+jwt", nil)
	}
	if !dpopAlg(h.Alg) {
		return nil, proofRefusal("the DPoP proof's alg is not an asymmetric algorithm the gateway accepts", nil)
	}
	if h.JWK == nil {
		return nil, proofRefusal("the DPoP proof has no jwk header", nil)
	}
	for _, m := range jwkPrivateMembers {
		if _, ok := h.JWK[m]; ok {
			return nil, proofRefusal("the DPoP proof's jwk holds a private key", nil)
		}
	}
	jws, err := jose.ParseSignedCompact(proof, dpopAlgs)
	if err != nil {
		return nil, proofRefusal("the DPoP proof is not a JWS with a public jwk", err)
	}
	jwk := jws.Signatures[0].Protected.JSONWebKey
	if jwk == nil || !jwk.IsPublic() {
		return nil, proofRefusal("the DPoP proof has no public jwk", nil)
	}
	if k, ok := jwk.Key.(*rsa.PublicKey); ok && k.N.BitLen() < dpopMinRSA {
		return nil, proofRefusal("the DPoP proof's RSA key is shorter than 2048 bits", nil)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, proofRefusal("the DPoP proof's signature does not verify with its jwk", err)
	}
	var claims struct {
		JTI *string  `json:"jti"`
		HTM *string  `json:"htm"`
		HTU *string  `json:"htu"`
		ATH *string  `json:"ath"`
		IAT *float64 `json:"iat"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, proofRefusal("the DPoP proof's claims are not a JSON object of strings and a numeric iat", err)
	}
	if claims.JTI == nil || claims.HTM == nil || claims.HTU == nil || claims.ATH == nil || claims.IAT == nil {
		return nil, proofRefusal("the DPoP proof lacks one of the claims jti, htm, htu, iat, ath", nil)
	}
	if *claims.JTI == "" || len(*claims.JTI) > dpopMaxJTI {
		return nil, proofRefusal("the DPoP proof's jti is empty or longer than 256 bytes", nil)
	}
	iat, ok := dpopTime(*claims.IAT)
	if !ok || iat.Before(now.Add(-dpopMaxAge)) || iat.After(now.Add(dpopMaxAhead)) {
		return nil, proofRefusal("the DPoP proof's iat is outside the accepted window (60 s old, 10 s ahead)", nil)
	}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, proofRefusal("the DPoP proof's jwk has no thumbprint", err)
	}
	return &dpopProof{jkt: base64.RawURLEncoding.EncodeToString(sum), jti: *claims.JTI, htm: *claims.HTM, htu: *claims.HTU,
		ath: *claims.ATH, iat: iat}, nil
}

// dpopTime is a NumericDate (RFC 7519 section 2) as a time; false for one
// no clock shows (negative, not finite, or past the year 33658).
func dpopTime(v float64) (time.Time, bool) {
	if math.IsNaN(v) || v < 0 || v > 1e12 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// dpopAlg reports whether alg is one of dpopAlgs.
func dpopAlg(alg string) bool {
	for _, a := range dpopAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// matches checks the proof against the request and its access token
// (section 4.3, items 8, 9 and 12's ath), and htu's host name against
// hosts, the service's.
func (pr *dpopProof) matches(r *http.Request, host string, hosts []string, token string) *dpopRefusal {
	if pr.htm != r.Method {
		return proofRefusal("htm is not the request's method", nil)
	}
	want, ok := normalizeHTU(requestURI(r, host))
	got, gotOK := normalizeHTU(pr.htu)
	if !ok || !gotOK || got != want {
		return proofRefusal("htu is not the request's URI", nil)
	}
	if u, err := url.Parse(got); err != nil || !slices.Contains(hosts, u.Hostname()) {
		return proofRefusal("htu's host is not one the service is published at (its endpoint or sandbox_endpoint)", nil)
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(pr.ath), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return proofRefusal("ath is not the hash of the access token", nil)
	}
	return nil
}

// requestURI is the URI r was sent to, as its client named it: the scheme
// the gateway was reached with, host (the Host the client sent) and the
// path of the request target before any rewrite.
func requestURI(r *http.Request, host string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	if !strings.HasPrefix(target, "/") {
		// The absolute form ("GET http://host/path"): RFC 9112 section
		// 3.2.2 makes its host the target's, whatever Host says.
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return ""
		}
		host, target = u.Host, u.EscapedPath()
	}
	return scheme + "://" + host + target
}

// normalizeHTU is an http(s) URI without query and fragment, normalized as
// RFC 3986 section 6.2.2 (case, percent-encoding, dot segments) and 6.2.3
// (default port, empty path) say, for comparison; false when s is not an
// absolute http(s) URI with a host and no user information.
func normalizeHTU(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Host), ":")
	if scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	} else {
		host = strings.TrimSuffix(host, ":443")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + removeDotSegments(normalizeEscapes(path)), true
}

// normalizeEscapes writes each percent-encoding of p in upper case, and
// decodes those of unreserved characters (RFC 3986 section 6.2.2.1 and
// 6.2.2.2).
func normalizeEscapes(p string) string {
	if strings.IndexByte(p, '%') < 0 {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+3], 16, 8); err == nil {
				if c := byte(v); c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
					b.WriteByte(c)
				} else {
					b.WriteString(strings.ToUpper(p[i : i+3]))
				}
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// removeDotSegments is RFC 3986 section 5.2.4's on an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p, "/")[1:]
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "") // "/a/." and "/a/b/..": the path ends with a slash
		}
	}
	return "/" + strings.Join(out, "/")
}
