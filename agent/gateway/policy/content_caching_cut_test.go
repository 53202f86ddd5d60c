package policy

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// clientGone is a client that took the first bytes of an answer and went
// away: every later write fails.
type clientGone struct {
	*httptest.ResponseRecorder
	room int
}

func (w *clientGone) Write(b []byte) (int, error) {
	if w.room <= 0 {
		return 0, io.ErrClosedPipe
	}
	w.room -= len(b)
	return w.ResponseRecorder.Write(b)
}

// A response the client stopped taking is not kept: the forwarder reads
// no more of the upstream's body once a write to the client fails (the
// lean forwarder returns, without the panic that tells the log phase the
// answer was cut), and a body without a Content-Length cannot tell it is
// short, so the next client would get the part as the whole.
func TestContentCachingKeepsNoAnswerTheClientStoppedTaking(t *testing.T) {
	env := &Env{ServiceID: 7, Log: zerolog.Nop(), Metrics: NewMetrics(prometheus.NewRegistry()), Shared: &Shared{}}
	c, err := Build([]composition.PolicyConfig{policyConfig("content_caching", `{"rules":[{"cache":true}]}`)}, nil, env)
	require.NoError(t, err)
	upstream := ForwarderFunc(func(ctx *Context) { // as http1's respond relays a chunked body
		ctx.W.WriteHeader(200)
		for _, part := range []string{"first ", "second ", "third"} {
			if _, err := ctx.W.Write([]byte(part)); err != nil {
				return // the client is gone: the rest is never read
			}
		}
	})
	var ctx Context
	c.Acquire(&ctx, &clientGone{ResponseRecorder: httptest.NewRecorder(), room: 1}, httptest.NewRequest("GET", "/doc", nil))
	c.Serve(&ctx, upstream)

	w := httptest.NewRecorder()
	c.Acquire(&ctx, w, httptest.NewRequest("GET", "/doc", nil))
	c.Serve(&ctx, upstream)
	assert.NotEqual(t, "HIT", w.Header().Get("X-Cache-Status"), "the part kept: %q", w.Body.String())
	assert.Equal(t, "first second third", w.Body.String())
}
