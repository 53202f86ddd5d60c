package gateway

import (
	"context"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/internal/http1"
)

// forwardChosen forwards to the upstream a policy chose (upstream,
// routing), as APIcast's Upstream does: the URL's scheme and host replace
// the service's, its path (when not "/") prefixes the request's, its query
// (when any) replaces the request's, and the Host header is the rule's
// host_header or the URL's host (without a default port), never the
// service's hostname_rewrite.
func (g *Gateway) forwardChosen(c *policy.Context, v *view) {
	u := c.Upstream.URL
	up := g.policyUpstream(u)
	host := c.Upstream.Host
	if host == "" {
		host = policy.HostHeader(u)
	}
	r := c.R
	if p := u.Path; p != "" && p != "/" {
		r.URL.Path, r.URL.RawPath = policy.JoinPath(p, r.URL.Path), ""
	}
	if u.RawQuery != "" {
		r.URL.RawQuery = u.RawQuery
	}
	g.forwardWith(c, up, host, true, v)
}

// forwardWith forwards with the context's timeouts and retries. The lean
// forwarder applies them exactly; through httputil.ReverseProxy (https
// upstreams, upgrades) the timeouts' sum bounds the whole exchange,
// retries included (retryTransport), and an upgrade is never retried.
func (g *Gateway) forwardWith(c *policy.Context, up *upstream, host string, chosen bool, v *view) {
	r := c.R
	o := http1.Options{Connect: c.Timeouts.Connect, Send: c.Timeouts.Send, Read: c.Timeouts.Read,
		Retries: c.Retries, RetryStatuses: c.RetryStatuses, Unbuffered: c.Unbuffered}
	if up.fwd != nil && !http1.IsUpgrade(r) {
		if err := up.fwd.ServeWith(c.W, r, host, v.secretToken, o); err != nil {
			g.forwardError(c.W, r, up, err)
		}
		return
	}
	if chosen {
		// proxyTo sends a chosen upstream the request's Host.
		defer func(h string) { c.R.Host = h }(r.Host)
		r.Host = host
	}
	ctx := r.Context()
	if o.Retries > 0 && !http1.IsUpgrade(r) {
		ctx = withRetries(ctx, o.Retries)
	}
	if total := o.Connect + o.Send + o.Read; total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, total)
		defer cancel()
	}
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	up.rp.ServeHTTP(c.W, r)
}
