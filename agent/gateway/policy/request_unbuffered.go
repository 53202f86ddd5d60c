package policy

import "encoding/json"

// requestUnbuffered is APIcast's "request_unbuffered" policy: "Disable
// request buffering. This is useful when proxying big payloads with HTTP/1.1
// chunked encoding" (manifest); its README: "When the request_unbuffered is
// in the chain, request buffering is disabled, sending the request body to
// the proxied server immediately upon receiving it" (nginx's
// proxy_request_buffering off, per service). The configuration has no
// properties; keys it does not know are ignored, as APIcast ignores them.
//
// The Portolan gateway never reads a whole body before forwarding it, but
// its forwarder writes a request through a 4 KiB buffer that goes out when
// full or when the body ends: a slow upload's first bytes wait there for
// the next ones. With the policy (Context.Unbuffered, set in the rewrite
// phase) the head leaves at once and each piece of the body as soon as it
// is read from the client, chunked or with a Content-Length; writes to the
// upstream are then bounded one by one (the timeouts policy's send_timeout,
// else the gateway's upstream timeout), as nginx's proxy_send_timeout is,
// so a long upload is not cut, and the read timeout counts from the last
// byte sent. Through httputil.ReverseProxy (https upstreams, an upstream
// with a base path) Go's transport already sends a chunked body chunk by
// chunk with or without the policy; a body with a Content-Length still goes
// in writes of up to 4 KiB there.
//
// The README's caveats hold as in APIcast: a form (application/x-www-form-
// urlencoded) POST, PUT or PATCH body of at most 64 KiB is read whole to
// find credentials in it; payload_limits bounds a chunked body while it
// streams (413 once it goes over) rather than reading it whole.
type requestUnbuffered struct{}

func newRequestUnbuffered(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg struct{}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err // not a JSON object: the schema's "type": "object"
	}
	return requestUnbuffered{}, nil
}

func (requestUnbuffered) Name() string { return "request_unbuffered" }

// Rewrite asks the content phase to stream the request body.
func (requestUnbuffered) Rewrite(c *Context) { c.Unbuffered = true }
