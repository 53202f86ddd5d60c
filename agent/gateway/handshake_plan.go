package gateway

import (
	"crypto/tls"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/internal/certreload"
)

// handshakePlan is what the TLS handshakes of a view's service need,
// worked out once per view from its policy chain: whether to ask the
// client for a certificate, and which certificates to serve. Never
// modified once built.
type handshakePlan struct {
	// ask: the handshake asks the client for a certificate.
	ask bool
	// askedBy names the first policy that reads the client certificate;
	// "" when none does (or the gateway cannot tell). Requests of a
	// connection whose handshake did not ask are sent away with 421 when
	// it is set (misdirected.go).
	askedBy     string
	misdirected prometheus.Counter // portolan_agent_gateway_policy_events_total{policy=askedBy,event="misdirected"}
	body        []byte             // the 421's

	certs []policyCert // the tls policy's, in order: the first that loads is served
}

// askUnknown is the plan of a service whose chain cannot run: what it
// would need cannot be told, so the handshake asks, as without a view.
var askUnknown = &handshakePlan{ask: true}

// policyCert is one of the tls policy's certificates: an embedded pair, or
// files reloaded when they change.
type policyCert struct {
	pair  *tls.Certificate
	files *certreload.Reloader
}

// current is the pair to serve; nil when it does not load.
func (c *policyCert) current() *tls.Certificate {
	if c.files != nil {
		return c.files.Current()
	}
	return c.pair
}

// planHandshake works out v's plan. The tls policy's certificates are used
// only when the gateway serves TLS: without it they are logged as unused
// (APIcast serves them on its HTTPS port only), and their files are not
// read.
func (g *Gateway) planHandshake(v *view) *handshakePlan {
	if v.chain == nil {
		return askUnknown
	}
	hs := v.chain.Handshake()
	p := &handshakePlan{ask: hs.ClientCertificate != "", askedBy: hs.ClientCertificate}
	if p.askedBy != "" {
		p.misdirected = g.policyMetrics.Policy.WithLabelValues(p.askedBy, "misdirected")
		p.body = fmt.Appendf(nil, "Misdirected Request: service %q reads the TLS client certificate (%s), "+
			"which the handshake of this connection did not ask for: retry on a new connection\n", v.service, p.askedBy)
	}
	if len(hs.Certificates) == 0 {
		return p
	}
	if g.cfg.TLS.CertFile == "" {
		g.log.Warn().Str("service", v.service).Uint64("revision", v.revision).Int("certificates", len(hs.Certificates)).
			Msg("gateway: the tls policy's certificates are not served: the gateway serves plain HTTP; start the agent with --gateway-tls-cert and --gateway-tls-key to serve TLS")
		return p
	}
	p.certs = g.policyCerts.use(hs.Certificates, v.service, g.log)
	return p
}

// policyCerts are the reloaders of the tls policy's pairs of files, kept
// from one view to the next so that a pair is read again only when its
// files change; only the pairs the newest view names are kept.
type policyCerts struct {
	mu      sync.Mutex
	byFiles map[[2]string]*certreload.Reloader
}

// use returns the served certificates of entries, reusing the reloaders of
// files already known and loading the others.
func (pc *policyCerts) use(entries []policy.ServedCertificate, service string, log zerolog.Logger) []policyCert {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	next := make(map[[2]string]*certreload.Reloader, len(entries))
	out := make([]policyCert, 0, len(entries))
	for _, e := range entries {
		if e.Pair != nil {
			out = append(out, policyCert{pair: e.Pair})
			continue
		}
		k := [2]string{e.CertFile, e.KeyFile}
		r := next[k]
		if r == nil {
			r = pc.byFiles[k]
		}
		if r == nil {
			r = certreload.NewLenient(e.CertFile, e.KeyFile, policyCertRole(service, e.Field), log)
		}
		next[k] = r
		out = append(out, policyCert{files: r})
	}
	pc.byFiles = next
	return out
}
