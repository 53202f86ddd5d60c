package gateway

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count the gateway's requests by result, each label's
// counter resolved once so the request path only adds atomically.
type metrics struct {
	forwarded, routed, authMissing, authFailed, referrerDenied, noMatch, limitsExceeded, unrecorded,
	noInstance, unavailable, upstreamError, oidc, tooLarge, badRequest, failClosed prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portolan_agent_gateway_requests_total",
		Help: "Requests the gateway answered, by result: forwarded (to the local app), routed (to another instance serving the plan), " +
			"auth_missing, auth_failed, referrer_not_allowed (answered as auth_failed), no_match, limits_exceeded, no_instance, unavailable, oidc, too_large, " +
			"bad_request (a dot segment or a control byte in the path), policy_chain_failed (a policy the gateway cannot run: the service fails closed); " +
			"upstream_error counts forwarded or routed requests the app did not answer (not those whose client left first: 499 in apicast_status).",
	}, []string{"result"})
	if err := reg.Register(vec); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			vec = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	c := vec.WithLabelValues
	return &metrics{
		forwarded: c("forwarded"), routed: c("routed"), authMissing: c("auth_missing"), authFailed: c("auth_failed"),
		noMatch: c("no_match"), limitsExceeded: c("limits_exceeded"), noInstance: c("no_instance"),
		unrecorded:  c("usage_unrecorded"),
		unavailable: c("unavailable"), upstreamError: c("upstream_error"), oidc: c("oidc"), tooLarge: c("too_large"),
		badRequest: c("bad_request"), failClosed: c("policy_chain_failed"), referrerDenied: c("referrer_not_allowed"),
	}
}
