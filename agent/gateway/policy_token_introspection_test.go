package gateway

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

// introspector is an RFC 7662 introspection endpoint on loopback. It
// refuses (401) a client that does not authenticate as auth says, and
// answers each token with its entry of answers: {"active":false} for one
// it does not know.
type introspector struct {
	srv   *httptest.Server
	url   string
	calls atomic.Int64

	mu      sync.Mutex
	hold    chan struct{} // when set, answers wait for it to close
	auth    func(r *http.Request, form url.Values) bool
	answers map[string]string // token → the answer's JSON
	forms   []url.Values      // what each call posted
	byToken map[string]int    // calls by token
}

func startIntrospector(t *testing.T) *introspector {
	t.Helper()
	in := &introspector{answers: map[string]string{}, byToken: map[string]int{},
		auth: func(r *http.Request, _ url.Values) bool {
			id, secret, ok := r.BasicAuth()
			return ok && id == "gateway" && secret == "s3cret"
		}}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.calls.Add(1)
		in.mu.Lock()
		hold, auth := in.hold, in.auth
		in.mu.Unlock()
		if hold != nil {
			<-hold
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
			http.Error(w, "POST a form", http.StatusBadRequest)
			return
		}
		in.mu.Lock()
		in.forms = append(in.forms, r.PostForm)
		in.byToken[r.PostForm.Get("token")]++
		ans, ok := in.answers[r.PostForm.Get("token")]
		in.mu.Unlock()
		if !auth(r, r.PostForm) {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if !ok {
			ans = `{"active":false}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, ans)
	}))
	t.Cleanup(in.srv.Close)
	in.url = in.srv.URL + "/realms/x/protocol/openid-connect/token/introspect"
	return in
}

// answer sets the endpoint's answer for tok: active or not, expiring in exp
// (none when 0).
func (in *introspector) answer(tok string, active bool, exp time.Duration) {
	a := map[string]any{"active": active}
	if exp != 0 {
		a["exp"] = time.Now().Add(exp).Unix()
	}
	b, _ := json.Marshal(a)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.answers[tok] = string(b)
}

func (in *introspector) callsFor(tok string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.byToken[tok]
}

func (in *introspector) lastForm() url.Values {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.forms[len(in.forms)-1]
}

// introspectionConf is the configuration of client_id+client_secret against
// in, with extra fields.
func introspectionConf(in *introspector, extra string) string {
	return `{"auth_type":"client_id+client_secret","client_id":"gateway","client_secret":"s3cret","introspection_url":"` +
		in.url + `"` + extra + `}`
}

// startIntrospectionGateway is startChainGateway with [token_introspection
// conf, apicast], cfg, the service's settings edited by edits, and the
// agent's log, at debug level, in logs.
func startIntrospectionGateway(t *testing.T, conf string, cfg Config, edits ...func(*composition.Proxy)) (*chainGateway, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"token_introspection","version":"builtin","enabled":true,"configuration":`+conf+`},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
		for _, edit := range edits {
			edit(p)
		}
	})
	up, got := echoUpstream(t, "app")
	cfg.Listen, cfg.Upstream = "127.0.0.1:0", up.URL
	u, err := cfg.Check()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	g := New(cfg, u, "self", &countingLedger{}, reg, zerolog.New(logs).Level(zerolog.DebugLevel))
	_, err = g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
	require.NoError(t, err)
	ln := runGateway(t, g, cfg.Listen)
	return &chainGateway{f: f, g: g, base: "http://" + ln.Addr().String(), got: got, reg: reg, up: up.URL, key: "premium-key"}, logs
}

// get calls the gateway with the premium application's key and tok as the
// bearer token ("" sends no Authorization).
func (cg *chainGateway) get(t *testing.T, tok string) answer {
	t.Helper()
	var h http.Header
	if tok != "" {
		h = bearerHeader(tok)
	}
	return call(t, "GET", cg.base+"/articles?user_key="+cg.key, h)
}

var introspectionRefused = answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", nil}

// The README: "The response of the Token Introspection Endpoint contains
// the active attribute [...] true: The call is authorized. false: The call
// is rejected with the Authentication Failed error." RFC 7662 2.1: the
// token is POSTed as a form (APIcast adds token_type_hint access_token),
// the client authenticating with Basic of client_id and client_secret
// ("client_id+client_secret: ... the Client ID and Client Secret that
// APIcast uses to request token information"). Without max_cached_tokens
// every call is introspected. A request without a bearer token is refused
// without a call.
func TestPolicyTokenIntrospectionActiveTokenPassesInactiveIsRefused(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok-active", true, time.Hour)
	in.answer("tok-inactive", false, 0)
	in.mu.Lock()
	in.answers["tok-string"] = `{"active":"true"}`
	in.mu.Unlock()
	cg, _ := startIntrospectionGateway(t, introspectionConf(in, ""), Config{})

	for i := range 2 {
		a := cg.get(t, "tok-active")
		require.Equal(t, http.StatusOK, a.status, "call %d: %s", i+1, a.body)
		assert.Equal(t, "app", a.body)
	}
	assert.Equal(t, url.Values{"token": {"tok-active"}, "token_type_hint": {"access_token"}}, in.lastForm())
	assert.Equal(t, 2, in.callsFor("tok-active"), "no cache: every call is introspected")
	<-cg.got
	<-cg.got

	for _, tok := range []string{"tok-inactive", "tok-unknown", "tok-string"} {
		assert.Equal(t, introspectionRefused, strip(cg.get(t, tok)), tok)
	}
	before := in.calls.Load()
	assert.Equal(t, introspectionRefused, strip(cg.get(t, "")), "no Authorization")
	assert.Equal(t, introspectionRefused, strip(call(t, "GET", cg.base+"/articles?user_key="+cg.key,
		http.Header{"Authorization": {"Basic Z2F0ZXdheTpzM2NyZXQ="}})), "not a bearer token")
	assert.Equal(t, before, in.calls.Load(), "nothing to introspect: no call")
	assert.Empty(t, cg.got, "nothing refused reaches the app")
	assert.Equal(t, 5.0, policyEvents(cg.reg, "token_introspection", "denied"))
	assert.Equal(t, 5.0, policyEvents(cg.reg, "token_introspection", "introspected"))

	// The service's own "authentication failed" answer, as APIcast's
	// context.service.error_auth_failed and auth_failed_status.
	cg2, _ := startIntrospectionGateway(t, introspectionConf(in, ""), Config{}, func(p *composition.Proxy) {
		p.ErrorAuthFailed, p.ErrorStatusAuthFailed, p.ErrorHeadersAuthFailed = `{"error":"token"}`, 401, "application/json"
	})
	assert.Equal(t, answer{401, "application/json", "{\"error\":\"token\"}\n", nil}, strip(cg2.get(t, "tok-x")))
}

// APIcast answers { active = false } whenever the call fails ("token
// introspection error", "failed to execute token introspection. status",
// "failed to parse token introspection response"): the policy fails
// closed. Refused credentials (401), an endpoint that is down, a 5xx, a
// body that is not JSON or is too large, and a redirect (not followed: its
// target is never called) all refuse the request, counted as failed.
func TestPolicyTokenIntrospectionFailsClosed(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok", true, time.Hour)
	wrong := strings.Replace(introspectionConf(in, ""), `"s3cret"`, `"wrong"`, 1)
	cg, _ := startIntrospectionGateway(t, wrong, Config{})
	assert.Equal(t, introspectionRefused, strip(cg.get(t, "tok")), "the endpoint refuses the client: 401")
	assert.EqualValues(t, 1, in.calls.Load())

	var redirected atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		redirected.Add(1)
		_, _ = io.WriteString(w, `{"active":true}`)
	}))
	t.Cleanup(target.Close)
	for name, h := range map[string]http.HandlerFunc{
		"500":      func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 500) },
		"not JSON": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>active</html>") },
		"array":    func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `[{"active":true}]`) },
		"too large": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"active":true,"pad":"`+strings.Repeat("x", 200<<10)+`"}`)
		},
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		},
	} {
		srv := httptest.NewServer(h)
		cg, _ := startIntrospectionGateway(t, strings.Replace(introspectionConf(in, ""), in.url, srv.URL, 1), Config{})
		assert.Equal(t, introspectionRefused, strip(cg.get(t, "tok")), name)
		assert.Equal(t, 1.0, policyEvents(cg.reg, "token_introspection", "failed"), name)
		srv.Close()
		assert.Equal(t, introspectionRefused, strip(cg.get(t, "tok")), "%s, then the endpoint down", name)
		assert.Empty(t, cg.got, name)
	}
	assert.Zero(t, redirected.Load(), "a redirect is not followed")
}

// tokens_cache.lua: an answer is kept until its exp ("ttl =
// token_exp - ngx.time()"), at most max_ttl_tokens ("Max TTL for cached
// tokens"), and max_ttl_tokens without exp ("If the config does not contain
// a max ttl and the token instrospection did not return one, we cannot
// cache the token"); "set the max_cached_tokens field to a value between 0,
// which disables the feature, and 10000". Inactive answers are kept too,
// as APIcast keeps every answer; one whose exp has passed is not.
func TestPolicyTokenIntrospectionCachesAnswers(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok-active", true, time.Hour)
	in.answer("tok-inactive", false, 0)
	in.answer("tok-past", true, -time.Minute)
	cg, _ := startIntrospectionGateway(t, introspectionConf(in, `,"max_cached_tokens":10,"max_ttl_tokens":60`), Config{})
	for range 3 {
		assert.Equal(t, http.StatusOK, cg.get(t, "tok-active").status)
		assert.Equal(t, http.StatusForbidden, cg.get(t, "tok-inactive").status)
		assert.Equal(t, http.StatusOK, cg.get(t, "tok-past").status, "active, whatever its exp: the endpoint decides")
	}
	assert.Equal(t, 1, in.callsFor("tok-active"), "kept: the second call is not sent")
	assert.Equal(t, 1, in.callsFor("tok-inactive"), "an inactive answer is kept too")
	assert.Equal(t, 3, in.callsFor("tok-past"), "past its exp: not kept")
	assert.Equal(t, 4.0, policyEvents(cg.reg, "token_introspection", "cached"))

	// Neither max_ttl_tokens nor exp: nothing to keep it for.
	in.answer("tok-noexp", true, 0)
	cg2, _ := startIntrospectionGateway(t, introspectionConf(in, `,"max_cached_tokens":10`), Config{})
	for range 2 {
		assert.Equal(t, http.StatusOK, cg2.get(t, "tok-noexp").status)
		assert.Equal(t, http.StatusOK, cg2.get(t, "tok-active").status)
	}
	assert.Equal(t, 2, in.callsFor("tok-noexp"))
	assert.Equal(t, 2, in.callsFor("tok-active"), "kept until its exp")
}

// max_ttl_tokens ("Max TTL for cached tokens", 1 to 3600) and exp both end
// a kept answer: once past, the token is introspected again.
func TestPolicyTokenIntrospectionCacheExpires(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok-long", true, time.Hour)
	cg, _ := startIntrospectionGateway(t, introspectionConf(in, `,"max_cached_tokens":10,"max_ttl_tokens":1`), Config{})
	in.answer("tok-exp", true, 2*time.Second)
	cg2, _ := startIntrospectionGateway(t, introspectionConf(in, `,"max_cached_tokens":10,"max_ttl_tokens":60`), Config{})
	for range 2 {
		assert.Equal(t, http.StatusOK, cg.get(t, "tok-long").status)
		assert.Equal(t, http.StatusOK, cg2.get(t, "tok-exp").status)
	}
	assert.Equal(t, 1, in.callsFor("tok-long"))
	assert.Equal(t, 1, in.callsFor("tok-exp"))
	time.Sleep(2100 * time.Millisecond)
	assert.Equal(t, http.StatusOK, cg.get(t, "tok-long").status)
	assert.Equal(t, 2, in.callsFor("tok-long"), "past max_ttl_tokens: introspected again")
	in.answer("tok-exp", false, 0)
	assert.Equal(t, http.StatusForbidden, cg2.get(t, "tok-exp").status, "past exp: the endpoint's new answer counts")
	assert.Equal(t, 2, in.callsFor("tok-exp"))
}

// max_cached_tokens: "Max number of tokens to cache" (resty.lrucache): the
// least recently used answer goes when a new one comes.
func TestPolicyTokenIntrospectionEvictsLeastRecentlyUsed(t *testing.T) {
	in := startIntrospector(t)
	for _, tok := range []string{"A", "B", "C"} {
		in.answer("tok-"+tok, true, time.Hour)
	}
	cg, _ := startIntrospectionGateway(t, introspectionConf(in, `,"max_cached_tokens":2,"max_ttl_tokens":60`), Config{})
	for _, tok := range []string{"A", "B", "A", "C", "A", "B", "C"} {
		require.Equal(t, http.StatusOK, cg.get(t, "tok-"+tok).status, tok)
	}
	assert.Equal(t, 1, in.callsFor("tok-A"), "used recently: kept")
	assert.Equal(t, 2, in.callsFor("tok-B"), "evicted by C")
	assert.Equal(t, 2, in.callsFor("tok-C"), "evicted by B")
}

// gaugeValue is the value of the gauge name whose one label is value.
func gaugeValue(reg *prometheus.Registry, name, label, value string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); mf.GetName() == name && len(l) == 1 && l[0].GetName() == label && l[0].GetValue() == value {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// The endpoint is not hammered: requests with the same token arriving
// while it is introspected wait for that one call, even without a cache.
func TestPolicyTokenIntrospectionSharesConcurrentCalls(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok-busy", true, time.Hour)
	hold := make(chan struct{})
	in.mu.Lock()
	in.hold = hold
	in.mu.Unlock()
	cg, _ := startIntrospectionGateway(t, introspectionConf(in, ""), Config{})
	const n = 8
	statuses := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest("GET", cg.base+"/articles?user_key="+cg.key, nil)
			req.Header.Set("Authorization", "Bearer tok-busy")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			_ = resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	require.Eventually(t, func() bool { return gaugeValue(cg.reg, "nginx_http_connections", "state", "writing") == n },
		5*time.Second, 5*time.Millisecond, "all %d requests in the gateway", n)
	time.Sleep(50 * time.Millisecond)
	close(hold)
	for range n {
		assert.Equal(t, http.StatusOK, <-statuses)
	}
	assert.EqualValues(t, 1, in.calls.Load(), "one call for the %d requests", n)
}

// The call carries the token and the client's secret: neither ever reaches
// the agent's log, whatever happens (APIcast logs the token of an inactive
// answer: Portolan does not), while what went wrong is logged.
func TestPolicyTokenIntrospectionNeverLogsTheTokenOrSecret(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok-ACTIVE-8f3a", true, time.Hour)
	in.answer("tok-INACTIVE-77c1", false, 0)
	cg, logs := startIntrospectionGateway(t, introspectionConf(in, `,"max_cached_tokens":10,"max_ttl_tokens":60`), Config{})
	assert.Equal(t, http.StatusOK, cg.get(t, "tok-ACTIVE-8f3a").status)
	assert.Equal(t, http.StatusForbidden, cg.get(t, "tok-INACTIVE-77c1").status)
	wrong := strings.Replace(introspectionConf(in, ""), `"s3cret"`, `"wr0ng-S3CRET"`, 1)
	cg2, logs2 := startIntrospectionGateway(t, wrong, Config{})
	assert.Equal(t, http.StatusForbidden, cg2.get(t, "tok-REFUSED-5d2e").status)
	down := startIntrospector(t)
	cg3, logs3 := startIntrospectionGateway(t, introspectionConf(down, ""), Config{})
	down.srv.Close()
	assert.Equal(t, http.StatusForbidden, cg3.get(t, "tok-DOWN-91b0").status)

	all := logs.String() + logs2.String() + logs3.String()
	for _, secret := range []string{"tok-ACTIVE-8f3a", "tok-INACTIVE-77c1", "tok-REFUSED-5d2e", "tok-DOWN-91b0", "s3cret", "wr0ng-S3CRET",
		base64.StdEncoding.EncodeToString([]byte("gateway:wr0ng-S3CRET"))} {
		assert.NotContains(t, all, secret)
	}
	assert.Contains(t, logs2.String(), "status 401", "why is logged")
	assert.Contains(t, logs3.String(), "connection refused")
	assert.Contains(t, logs.String(), "not active")
}

// The manifest's auth_type use_3scale_oidc_issuer_endpoint: "Use the Client
// credentials and the Token Introspection Endpoint from the OpenID Connect
// Issuer setting". Those credentials are the user info of
// oidc_issuer_endpoint, which home strips from the agents' view: the agent
// never holds them, so the policy refuses that auth_type, at home as at the
// agent, rather than introspect without credentials. The schema's bounds
// (max_cached_tokens 0..10000, max_ttl_tokens 1..3600) and required fields
// are held to, each error naming its field.
func TestPolicyTokenIntrospectionRefusesWhatItCannotHonour(t *testing.T) {
	in := startIntrospector(t)
	for conf, want := range map[string]string{
		`{"auth_type":"use_3scale_oidc_issuer_endpoint"}`:                                                            "configuration.auth_type: use_3scale_oidc_issuer_endpoint takes the client credentials",
		`{"auth_type":"client_id+client_secret","client_id":"gateway"}`:                                              "configuration.introspection_url: is required",
		strings.Replace(introspectionConf(in, ""), `"client_secret"`, `"x"`, 1):                                      "configuration.client_secret: is required",
		introspectionConf(in, `,"max_cached_tokens":10001`):                                                          "configuration.max_cached_tokens: must be between 0 (no cache) and 10000",
		introspectionConf(in, `,"max_ttl_tokens":0`):                                                                 "configuration.max_ttl_tokens: must be between 1 and 3600",
		strings.Replace(introspectionConf(in, ""), "http://", "ftp://", 1):                                           "configuration.introspection_url: must be an absolute http(s) URL",
		strings.Replace(introspectionConf(in, ""), "http://", "http://id:pw@", 1):                                    "configuration.introspection_url: must not hold credentials",
		`{"auth_type":"client_secret_jwt","client_id":"g","client_secret":"s","introspection_url":"` + in.url + `"}`: "configuration.client_jwt_assertion_audience: is required",
		`{"auth_type":"private_key_jwt","client_id":"g","introspection_url":"` + in.url + `","client_jwt_assertion_audience":"a","certificate":"/nonexistent/key.pem"}`:                                          "configuration.certificate: cannot read the private key",
		`{"auth_type":"private_key_jwt","client_id":"g","introspection_url":"` + in.url + `","client_jwt_assertion_audience":"a","certificate_type":"embedded","certificate":"data:text/plain;base64,aGVsbG8="}`: "configuration.certificate: holds no RSA private key",
		`{"auth_type":"client_id+client_secret","client_id":"g","client_secret":"s","introspection_url":"http://192.0.2.1/introspect"}`:                                                                          "plain HTTP to 192.0.2.1, off loopback, is refused",
	} {
		cg, _ := startIntrospectionGateway(t, conf, Config{})
		a := cg.get(t, "tok")
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, want, conf)
		assert.NotContains(t, a.body, `"s3cret"`, "the configuration's secret is not shown")
	}
	assert.Zero(t, in.calls.Load())

	home := func(conf string) error {
		return policy.Validate([]composition.PolicyConfig{{Name: "token_introspection", Enabled: true, Configuration: json.RawMessage(conf)}})
	}
	assert.ErrorContains(t, home(`{"auth_type":"use_3scale_oidc_issuer_endpoint"}`), "home never sends to agents", "refused at home too")
	assert.NoError(t, home(`{"client_id":"g","client_secret":"s","introspection_url":"http://192.0.2.1/introspect"}`),
		"home leaves plain HTTP to the agent, which may run with --oidc-insecure-issuers")
	assert.NoError(t, home(`{"auth_type":"private_key_jwt","client_id":"g","introspection_url":"https://sso/i","client_jwt_assertion_audience":"a","certificate":"/on/the/agent.pem"}`),
		"home cannot read the agents' files")

	// --oidc-insecure-issuers: allowed, and warned of.
	cg, logs := startIntrospectionGateway(t, `{"client_id":"g","client_secret":"s","introspection_url":"http://192.0.2.1/introspect"}`,
		Config{OIDCInsecureIssuers: true})
	assert.Equal(t, introspectionRefused, strip(cg.get(t, "")), "the chain runs (no token: no call)")
	assert.Contains(t, logs.String(), "plain HTTP")
	assert.Contains(t, logs.String(), "http://192.0.2.1/introspect")
}

// verifyAssertion checks a client_assertion's signature with verify and
// returns its claims.
func verifyAssertion(t *testing.T, form url.Values, alg string, verify func(input, sig []byte) bool) map[string]any {
	t.Helper()
	assert.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form.Get("client_assertion_type"))
	parts := strings.Split(form.Get("client_assertion"), ".")
	require.Len(t, parts, 3)
	head, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"typ":"JWT","alg":%q}`, alg), string(head))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	require.True(t, verify([]byte(parts[0]+"."+parts[1]), sig), "the assertion's signature")
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(body, &claims))
	return claims
}

// The README: "client_secret_jwt: [...] APIcast will prepare a new JWT
// authentication token and sign with the Client Secret using an HMAC
// SHA-256 algorithm. Then, APIcast will make a token information request
// with the generated JWT as the value for the client_assertion parameter";
// "private_key_jwt: [...] sign the token with the private key provided"
// (certificate, "Client RSA private key used to sign JWT", a path or
// embedded as a data URL). iss and sub are client_id, aud
// client_jwt_assertion_audience, exp client_jwt_assertion_expires_in
// ("Duration of the singed JWT in seconds", default 60) after iat.
func TestPolicyTokenIntrospectionClientAssertions(t *testing.T) {
	in := startIntrospector(t)
	in.answer("tok", true, time.Hour)
	in.mu.Lock()
	in.auth = func(r *http.Request, form url.Values) bool {
		return r.Header.Get("Authorization") == "" && form.Get("client_id") == "gateway"
	}
	in.mu.Unlock()
	base := `"client_id":"gateway","introspection_url":"` + in.url + `","client_jwt_assertion_audience":"https://sso/realms/x"`

	cg, _ := startIntrospectionGateway(t, `{"auth_type":"client_secret_jwt","client_secret":"short",`+base+`,"client_jwt_assertion_expires_in":30}`, Config{})
	require.Equal(t, http.StatusOK, cg.get(t, "tok").status)
	got := in.lastForm()
	claims := verifyAssertion(t, got, "HS256", func(input, sig []byte) bool {
		m := hmac.New(sha256.New, []byte("short"))
		m.Write(input)
		return hmac.Equal(m.Sum(nil), sig)
	})
	assert.Equal(t, "gateway", claims["iss"])
	assert.Equal(t, "gateway", claims["sub"])
	assert.Equal(t, "https://sso/realms/x", claims["aud"])
	assert.Len(t, claims["jti"], 32, "the request's id")
	assert.EqualValues(t, 30, claims["exp"].(float64)-claims["iat"].(float64))
	assert.Equal(t, "tok", got.Get("token"))

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	verifyRSA := func(input, sig []byte) bool {
		d := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig) == nil
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	embedded := "data:application/x-x509-ca-cert;name=rsa.pem;base64," +
		base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	path := filepath.Join(t.TempDir(), "rsa.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	for typ, cert := range map[string]string{"embedded": embedded, "path": path} {
		cg, _ := startIntrospectionGateway(t, `{"auth_type":"private_key_jwt",`+base+`,"certificate_type":"`+typ+`","certificate":"`+cert+`"}`, Config{})
		require.Equal(t, http.StatusOK, cg.get(t, "tok").status, typ)
		claims := verifyAssertion(t, in.lastForm(), "RS256", verifyRSA)
		assert.EqualValues(t, 60, claims["exp"].(float64)-claims["iat"].(float64), "%s: 60 s by default", typ)
		assert.Equal(t, "gateway", claims["iss"], typ)
	}
}
