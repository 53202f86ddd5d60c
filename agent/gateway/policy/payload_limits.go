package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/portolan/portolan/internal/http1"
	"github.com/prometheus/client_golang/prometheus"
)

// payloadLimitsPolicy is APIcast's "payload_limits" policy: "This policy add
// limits based on request or response content size", in bytes, 0 allowing
// all. A request whose Content-Length is over the request limit is refused
// in the access phase with 413 "Payload Too Large", as APIcast does; where
// APIcast lets a body without a Content-Length (chunked) through, the gateway
// reads it up to the limit and refuses it as well when it is over; with
// request_unbuffered in the chain (Context.Unbuffered) it is bounded while
// it streams instead, and refused 413 when it goes over, its first bytes
// already sent (the upstream's connection is then closed, its chunked body
// unfinished), as nginx answers a body it streams past
// client_max_body_size before the upstream answered. A response
// whose Content-Length is over the response limit becomes, in the header
// filter, a 413 whose body is "Payload Too Large". As APIcast's
// header_filter, which sets only the status and the Content-Length, the
// upstream's other headers go with it, its Content-Type included; those
// that would misdescribe the new body (Content-Encoding, ETag, ...) are
// dropped, where APIcast would send a client "Payload Too Large" as gzip.
type payloadLimitsPolicy struct {
	request, response int64

	requestDenied, responseDenied prometheus.Counter
}

type payloadLimitsConfig struct {
	Request  *int64 `json:"request"`
	Response *int64 `json:"response"`
}

// payloadBufferMax bounds what is read of a body without a Content-Length
// to check it; past a larger limit, or with request_unbuffered, the body
// is bounded while it is forwarded instead (the gateway then answers 413
// itself).
const payloadBufferMax = 1 << 20

var payloadTooLarge = []byte("Payload Too Large")

func newPayloadLimits(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg payloadLimitsConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if cfg.Request == nil {
		return nil, Invalid("request", "is required (0 allows all)")
	}
	if cfg.Response == nil {
		return nil, Invalid("response", "is required (0 allows all)")
	}
	if *cfg.Request < 0 {
		return nil, Invalid("request", "must be at least 0, not %d", *cfg.Request)
	}
	if *cfg.Response < 0 {
		return nil, Invalid("response", "must be at least 0, not %d", *cfg.Response)
	}
	return &payloadLimitsPolicy{request: *cfg.Request, response: *cfg.Response,
		requestDenied:  env.Metrics.Policy.WithLabelValues("payload_limits", "request_too_large"),
		responseDenied: env.Metrics.Policy.WithLabelValues("payload_limits", "response_too_large")}, nil
}

func (p *payloadLimitsPolicy) Name() string { return "payload_limits" }

// Access checks the request's size.
func (p *payloadLimitsPolicy) Access(c *Context) {
	if p.request <= 0 {
		return
	}
	r := c.R
	switch {
	case r.ContentLength > p.request:
		p.refuseRequest(c)
	case r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody:
		// Within the limit; the forwarder holds the body to its length.
	case p.request <= payloadBufferMax && !c.Unbuffered:
		b, err := io.ReadAll(io.LimitReader(r.Body, p.request+1))
		if int64(len(b)) > p.request {
			p.refuseRequest(c)
			return
		}
		if errors.Is(err, http1.ErrBodyTimeout) {
			c.Respond(http.StatusRequestTimeout, "text/plain; charset=utf-8", []byte("Request body timed out: the client stopped sending it\n"))
			return
		}
		if err != nil {
			c.Respond(http.StatusBadRequest, "text/plain; charset=utf-8", []byte("Bad Request: the request body could not be read\n"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	default:
		// Streamed as it is bounded: request_unbuffered's body is not held
		// back, and a large one is not held in memory.
		r.Body = http.MaxBytesReader(c.W, r.Body, p.request)
	}
}

func (p *payloadLimitsPolicy) refuseRequest(c *Context) {
	p.requestDenied.Inc()
	c.Respond(http.StatusRequestEntityTooLarge, "text/plain; charset=utf-8", []byte("Payload Too Large\n"))
}

// payloadLimited marks a response replaced by the header filter.
type payloadLimited struct{ sent bool }

func newPayloadLimited() any { return &payloadLimited{} }

// HeaderFilter replaces an upstream response over the limit with 413.
func (p *payloadLimitsPolicy) HeaderFilter(c *Context) {
	if p.response <= 0 || c.Answered {
		return // a policy's own answer is no upstream content
	}
	h := c.W.Header()
	cl := h["Content-Length"]
	if len(cl) == 0 {
		return
	}
	n, err := strconv.ParseInt(cl[0], 10, 64)
	if err != nil || n <= p.response {
		return
	}
	p.responseDenied.Inc()
	c.State(newPayloadLimited)
	c.Status = http.StatusRequestEntityTooLarge
	for _, k := range []string{"Content-Encoding", "Etag", "Last-Modified", "Content-Range", "Transfer-Encoding"} {
		delete(h, k)
	}
	h["Content-Length"] = []string{strconv.Itoa(len(payloadTooLarge))}
}

// BodyFilter sends "Payload Too Large" instead of a replaced response's body.
func (p *payloadLimitsPolicy) BodyFilter(c *Context, b []byte) []byte {
	if p.response <= 0 {
		return b
	}
	st, ok := c.State(payloadNoState).(*payloadLimited)
	if !ok {
		return b
	}
	if st.sent {
		return nil
	}
	st.sent = true
	return payloadTooLarge
}

// payloadNoState leaves an element's state unset.
func payloadNoState() any { return nil }
