package policy

import "encoding/json"

// grpc is APIcast's grpc ("HTTP2 Endpoint"): "To enable full HTTP2 traffic
// from the user to the final endpoint", "Main functionality to enable
// HTTP2 endpoint reply". APIcast's "GRPC on APICast": "The only work needed
// in APICast to enable full GRPC traffic is to enable the GRPC policy in
// the given service, so the protocol used will be full HTTP2"; "HTTP2 is
// only enabled in the TLS port"; "The GRPC endpoint server should also
// listen in TLS, MTLS can be enabled or not, but the endpoint should finish
// TLS connections to be able to work as expected". The policy has no
// configuration.
//
// With it, the gateway speaks HTTP/2 and nothing else to the upstream (the
// service's, a policy's choice, a peer's app), as APIcast's grpc_pass
// does: to an https upstream over TLS, where the upstream must choose "h2"
// by ALPN (one that answers in HTTP/1.1 fails the request: 502); with
// upstream_mtls's certificate and CAs when the chain has them, as APIcast
// sets its grpc_ssl_certificate. The answer's trailers (grpc-status,
// grpc-message) reach the client. Clients speak HTTP/2 to the gateway: over
// TLS (--gateway-tls-cert, ALPN "h2", as APIcast's TLS port) or in clear
// with --gateway-h2c. As APIcast's grpc location sets it, the service's
// secret token also goes upstream as X-3scale-grpc-secret-token (a
// client's own copy never does), besides X-3scale-Proxy-Secret-Token. The
// connections are kept for the requests of this chain only.
//
// Differences from APIcast:
//   - An http:// upstream gets HTTP/2 in clear with prior knowledge (h2c),
//     the way gRPC servers listen without TLS (an app beside the agent):
//     APIcast speaks TLS (grpcs://) to whatever the upstream's scheme says.
//   - Through http_proxy, an https upstream is reached in a CONNECT tunnel,
//     HTTP/2 inside it; an http upstream cannot be (HTTP/2 in clear has no
//     proxy form), nor can any upstream through camel (Camel takes
//     HTTP/1.1 requests): those requests are answered 502, the log saying
//     why. APIcast's grpc location leaves both proxies out.
//   - An HTTP/1.1 request of a grpc service also goes upstream in HTTP/2
//     (as APIcast's later grpc policy routes every request so); its
//     answer's trailers are then lost, as HTTP/1.1 clients do not take
//     them from the gateway.
type grpc struct {
	tr *Transport
}

func newGRPC(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg struct{}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	return &grpc{tr: sharedTransport(env, transportKey("grpc", nil), &Transport{HTTP2: true})}, nil
}

func (p *grpc) Name() string { return "grpc" }

// Access asks for HTTP/2 to the upstream; in the access phase, which
// nothing but an answer skips (echo's exit: phase skips the rest of the
// rewrite phase, where APIcast's runs).
func (p *grpc) Access(c *Context) { c.Transport = p.tr.Over(c.Transport) }
