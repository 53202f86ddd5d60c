package policy

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Policy is one element of a chain. It takes part in a phase by
// implementing that phase's interface; a policy that implements none is
// inert. Policies are immutable once built and shared by all requests;
// per-request state lives in the Context (see Context.State).
type Policy interface {
	Name() string // the policy's name in the chain, e.g. "cors"
}

// Rewriter runs in the rewrite phase, before authorization: APIcast's
// rewrite_by_lua (url_rewriting, cors preflights, the apicast element's
// credential and mapping match).
type Rewriter interface {
	Rewrite(c *Context)
}

// Accessor runs in the access phase: authorization and limits (ip_check
// and maintenance_mode by default, jwt_claim_check, rate_limit, routing's
// choice, the apicast element's authorization).
type Accessor interface {
	Access(c *Context)
}

// Contenter runs in the content phase and may answer the request itself
// (liquid_context_debug); it reports whether it did. When none does, the
// gateway forwards the request upstream.
type Contenter interface {
	Content(c *Context) bool
}

// HeaderFilter runs once the response's status and headers are known and
// before they are sent, whoever produced them (the upstream, a policy or the
// gateway's own error answers), as nginx's header_filter_by_lua does.
type HeaderFilter interface {
	HeaderFilter(c *Context)
}

// BodyFilter sees each chunk of the response body and returns what is sent
// instead (p itself when nothing changes).
type BodyFilter interface {
	BodyFilter(c *Context, p []byte) []byte
}

// Logger runs after the response has been sent (custom_metrics, the
// connection limits' leave).
type Logger interface {
	Log(c *Context)
}

// Factory builds a policy from its configuration, validated as its JSON
// schema says; the error names the field at fault (see Invalid).
type Factory func(conf json.RawMessage, env *Env) (Policy, error)

// Env is what policies may use of the gateway, fixed for one chain.
type Env struct {
	ServiceID         int64
	ServiceSystemName string
	// BackendVersion is the service's backend_version, how its
	// applications present credentials: "1" (user_key), "2" (app_id and
	// app_key) or "oidc"; "" is 3scale's default, "1".
	BackendVersion string
	// CredentialNames are the query parameters and headers the service's
	// applications present their credentials under, its proxy's
	// auth_user_key, auth_app_id and auth_app_key (APIcast's
	// configuration/service.lua): credentials whatever they sound like,
	// so that what masks secretName's masks them too (isSecretName).
	CredentialNames []string

	Log     zerolog.Logger
	Metrics *Metrics

	// Shared keeps state that must outlive one chain: a chain is rebuilt
	// at every composition revision, but rate limit counters and the like
	// must not start over. Keys should start with the policy's name.
	Shared *Shared

	// Usage counts extra hits for the request's application
	// (custom_metrics); nil when the gateway counts none.
	Usage UsageCounter

	// Global counts rate_limit's global limiters cluster-wide through home;
	// nil counts them on this gateway only.
	Global GlobalCounter

	// ContentCaching is where content_caching keeps responses (zero:
	// APIcast's defaults).
	ContentCaching ContentCaching

	// Upstream is the service's upstream, where the gateway forwards when
	// no policy chose another (maintenance_mode's {{ upstream.* }}).
	Upstream *url.URL

	// PublicBaseURLs are the service's public base URLs, its proxy's
	// endpoint and sandbox_endpoint, as the composition holds them:
	// APIcast picks the service by their hosts (oauth_dpop's htu must
	// name one). Empty in home's check of a saved chain.
	PublicBaseURLs []string

	// JWTVerifier verifies bearer JWTs against an OpenID Connect issuer
	// (jwt_parser): the gateway's OpenID Connect verification; nil in
	// home's check of a saved chain.
	JWTVerifier JWTVerifier

	// AuthFailed answers with the service's "authentication failed" error
	// (error_auth_failed, its status and content type), as APIcast's
	// errors.authorization_failed does (keycloak_role_check); nil in
	// home's check of a saved chain.
	AuthFailed func(c *Context)

	// ReportInterval is how often the agent reports usage to home
	// (3scale_batcher's batch_report_seconds); 0 when unknown, as in home's
	// check of a saved chain.
	ReportInterval time.Duration

	// IdentityClient calls identity providers (token_introspection's
	// endpoint): the gateway's OpenID Connect issuer client, which follows
	// no redirect, bounds answers and their time, never dials a link-local
	// address, and dials plain HTTP to loopback only unless
	// InsecureIssuers. Nil in home's check of a saved chain.
	IdentityClient *http.Client
	// InsecureIssuers is the agent's --oidc-insecure-issuers: plain HTTP
	// to identity providers may leave loopback.
	InsecureIssuers bool

	// Saving is home's check of a chain being saved (Validate): nothing of
	// the agents' is at hand (their files, identity providers, the
	// gateway's own parts), so a policy checks what it can of its
	// configuration and leaves the rest to the agent that loads it.
	Saving bool

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// UsageCounter records usage of a metric (by system name) for an application.
type UsageCounter interface {
	CountUsage(appID int64, metric string, delta int64, now time.Time) error
}

// GlobalCounter adds delta to a limiter's count for the window starting at
// start and returns the count across the cluster, as far as this gateway
// knows it.
type GlobalCounter interface {
	AddGlobal(key string, start time.Time, window time.Duration, delta int64) (int64, error)
}

// Upstream is where the content phase forwards a request instead of the
// gateway's own choice (upstream and routing policies).
type Upstream struct {
	URL *url.URL
	// Host, when set, is the Host header sent (routing's host_header).
	Host string
	// OwnerID, when set, is the backend API this route reaches (routing's
	// owner_id): only its mapping rules, and the product's, add usage.
	OwnerID int64
	// Path, when set, is the whole path the request goes to, URL's then
	// being empty (routing's replace_path, which applies it itself).
	Path string
	// Target, with Path, is the path and query as rendered (a query in it
	// replaces the request's): what the upstream is asked, which the
	// request's own path does not say till routing applies it.
	Target string
}

// MetricUsage is usage of one metric, named by its system name.
type MetricUsage struct {
	Metric string
	Delta  int64
}

// Timeouts bound the upstream exchange (timeouts policy); zero values keep
// the gateway's defaults.
type Timeouts struct {
	Connect, Send, Read time.Duration
}

// Credentials are what default_credentials supplies when a request brings
// none.
type Credentials struct {
	UserKey, AppID, AppKey string
}

// App is the application the apicast element authenticated.
type App struct {
	ID, PlanID int64
	AppID      string // the application's app_id or client_id, when it has one
}

// Context is one request going through the chain. It is pooled by the
// gateway: a policy must not keep it past the phase call.
type Context struct {
	W http.ResponseWriter // the client's response; writing it answers the request
	R *http.Request       // what is forwarded; rewrite policies change it

	Start time.Time
	// Status is the response status, known from the header filter on.
	Status int
	// Answered is set once a policy or the gateway has answered: later
	// rewrite, access and content phases are skipped, the filters and the
	// log still run.
	Answered bool

	// JWT holds the claims of the request's validated token (OpenID
	// Connect services), nil otherwise.
	JWT map[string]any
	// App is the authenticated application, nil before the access phase
	// of the apicast element or when none was.
	App *App

	// Set by policies for the apicast element and the content phase.
	Upstream           *Upstream
	Timeouts           Timeouts
	Retries            int          // extra attempts on a connection failure or timeout
	RetryStatuses      []int        // also retried on these upstream statuses, with a body that can be replayed
	DefaultCredentials *Credentials // used when the request brings none of its backend version's
	Caching            string       // "", "strict", "resilient", "allow", "none"
	Unbuffered         bool         // the request body goes upstream piece by piece as it comes (request_unbuffered)
	// Transport is how the upstream is reached when policies change it
	// (upstream_mtls, http_proxy, camel, grpc: see Transport.Over); nil:
	// the gateway's own way.
	Transport *Transport
	// Unfiltered names the request headers nginx_filters keeps from the
	// checks nginx would make of them (content_caching's preconditions).
	Unfiltered []string
	// Referrer is what 3scale_referrer sends for authorization: the Referer
	// header, ReferrerGiven set; without the policy none is sent.
	Referrer      string
	ReferrerGiven bool
	// Limits, set by rate_limit_headers in the rewrite phase, asks the
	// apicast element for the plan limit the request is closest to: the
	// element fills it as the ledger admits the request, and sets it back
	// to nil when the ledger refuses it or cannot keep its usage. Nil: the
	// element computes nothing.
	Limits *LimitStatus
	// AddedUsage is usage a policy adds to the request's in the rewrite
	// phase (soap), by metric system name: the apicast element admits it
	// with the mapping rules' usage, against the plan's limits.
	AddedUsage []MetricUsage

	// UpstreamStatus is the upstream's answer, 0 when it was not reached;
	// UpstreamTime how long it took.
	UpstreamStatus int
	UpstreamTime   time.Duration

	// Gateway is the gateway's own per-request state, for its apicast
	// element; Acquire keeps it.
	Gateway any

	state  []any  // per chain element, indexed by its position
	reqID  string // the Liquid {{ request_id }}, made the first time it is read
	pos    int    // the position of the element being run
	filter filterWriter

	// skipRewrite skips the rest of the rewrite phase but the apicast
	// element's (echo's exit "phase", APIcast's ngx.exit(0)).
	skipRewrite bool
	// aborted is set in the log phase of a request whose serving panicked
	// (an upstream that died mid-body): its response was cut short.
	aborted bool
}

// State returns the running element's per-request state, made by mk the
// first time in this request.
func (c *Context) State(mk func() any) any {
	if c.state[c.pos] == nil {
		c.state[c.pos] = mk()
	}
	return c.state[c.pos]
}

// Respond answers the request with status, the given header values and
// body, unless it was already answered.
func (c *Context) Respond(status int, contentType string, body []byte) {
	if c.Answered {
		return
	}
	c.Answered = true
	if contentType != "" {
		c.W.Header()["Content-Type"] = []string{contentType}
	}
	c.W.WriteHeader(status)
	if len(body) > 0 && c.R.Method != http.MethodHead {
		_, _ = c.W.Write(body)
	}
}

// Metrics are the counters policies share, registered once per gateway.
type Metrics struct {
	// Policy counts what policies did, by policy and event (e.g. "ip_check",
	// "denied"); resolve the counter at build time, not per request.
	Policy *prometheus.CounterVec
	// ContentCaching is APIcast's content_caching counter, by cache status
	// (HIT, MISS, EXPIRED).
	ContentCaching *prometheus.CounterVec
}

// NewMetrics registers the policy metrics in reg (once: a second call with
// the same reg returns the registered ones).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		Policy: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portolan_agent_gateway_policy_events_total",
			Help: "What the policies of gateway chains did, by policy and event (denied, preflight, rewritten, routed, fail_closed, ...).",
		}, []string{"policy", "event"})),
		// APIcast's name, help and label (its content_caching policy).
		ContentCaching: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "content_caching", Help: "Content caching status",
		}, []string{"status"})),
	}
}

// Register registers c in reg, or returns the collector registered before
// under its name (a second gateway on the same registry, in tests).
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
