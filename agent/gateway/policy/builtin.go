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
	"rate_limit":           newRateLimit,
}

func builtin(name string) (Factory, bool) {
	f, ok := builtins[name]
	return f, ok
}
