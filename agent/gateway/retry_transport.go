package gateway

import (
	"context"
	"net/http"

	"github.com/portolan/portolan/internal/http1"
)

// retryTransport makes the retry policy hold for the upstreams that go
// through httputil.ReverseProxy (https ones) as it holds in the lean
// forwarder: a request is tried up to its retries more times when the
// upstream fails before answering, if it may be sent again (no body, not
// POST, PATCH or LOCK). A RoundTrip error always comes before an answer.
type retryTransport struct{ base http.RoundTripper }

// retriesKey is the context key of a request's retries (withRetries).
type retriesKey struct{}

// withRetries carries the retry policy's count to retryTransport, past
// httputil.ReverseProxy.
func withRetries(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, retriesKey{}, n)
}

func (t retryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n, _ := r.Context().Value(retriesKey{}).(int)
	if n <= 0 || (r.Body != nil && r.Body != http.NoBody) || !http1.Idempotent(r.Method) {
		return t.base.RoundTrip(r)
	}
	for try := 0; ; try++ {
		resp, err := t.base.RoundTrip(r)
		if err == nil || try == n || r.Context().Err() != nil {
			return resp, err
		}
	}
}
