package policy

// builtins are the policies the gateway runs, by their APIcast name; the
// apicast element is the gateway's own (see Build). One line per policy,
// the policy itself in its own file.
var builtins = map[string]Factory{
	"caching":              newCaching,
	"content_caching":      newContentCaching,
	"custom_metrics":       newCustomMetrics,
	"cors":                 newCORS,
	"default_credentials":  newDefaultCredentials,
	"headers":              newHeaders,
	"ip_check":             newIPCheck,
	"liquid_context_debug": newLiquidContextDebug,
	"maintenance_mode":     newMaintenanceMode,
	"payload_limits":       newPayloadLimits,
	"url_rewriting":        newURLRewriting,
	"routing":              newRouting,
	"upstream":             newUpstream,
	"retry":                newRetry,
	"upstream_connection":  newUpstreamConnection,
	"jwt_claim_check":      newJWTClaimCheck,
	"jwt_parser":           newJWTParser,
	"fapi":                 newFAPI,
	"rate_limit":           newRateLimit,
	"statuscode_overwrite": newStatusCodeOverwrite,
	"rewrite_url_captures": newRewriteURLCaptures,
	"echo":                 newEcho,
	"keycloak_role_check":  newKeycloakRoleCheck,
	"tls":                  newTLSTermination,
	"tls_validation":       newTLSValidation,
	"oauth_mtls":           newOAuthMTLS,
	"oauth_dpop":           newOAuthDPoP,
	"soap":                 newSOAP,
	"token_introspection":  newTokenIntrospection,
	"3scale_batcher":       newThreescaleBatcher,
	"3scale_referrer":      newThreescaleReferrer,
	"websocket":            newWebsocket,
	"on_failed":            newOnFailed,
	"nginx_filters":        newNginxFilters,
	"request_unbuffered":   newRequestUnbuffered,
	"logging":              newLogging,
	"rate_limit_headers":   newRateLimitHeaders,
	"upstream_mtls":        newUpstreamMTLS,
	"http_proxy":           newHTTPProxy,
	"camel":                newCamel,
	"grpc":                 newGRPC,
}

func builtin(name string) (Factory, bool) {
	f, ok := builtins[name]
	return f, ok
}
