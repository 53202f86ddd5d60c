package http1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pooledSlowForwarder is a forwarder with timeout to an upstream that takes
// delay to answer /slow (counted in slow) and answers the rest at once, with
// one connection already pooled.
func pooledSlowForwarder(t *testing.T, timeout, delay time.Duration) (f *Forwarder, slow *atomic.Int32) {
	t.Helper()
	slow = new(atomic.Int32)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slow.Add(1)
			time.Sleep(delay)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	f = NewForwarder(ForwarderConfig{Addr: s.Listener.Addr().String(), Host: "app", Timeout: timeout, Idle: 4})
	require.NoError(t, f.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "", nil), "pools a connection")
	return f, slow
}

// An upstream that takes longer than the timeout to answer a request sent
// on a pooled connection times out once: the free retry of a pooled
// connection is for one the upstream closed while it was idle, not for a
// slow answer, which would be asked for again (the app does the work
// twice) and waited for up to twice as long, where nginx answers 504 after
// proxy_read_timeout.
func TestSlowAnswerOnAPooledConnectionIsNotAskedTwice(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f, slow := pooledSlowForwarder(t, timeout, 3*timeout)

	start := time.Now()
	err := f.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil), "", nil)
	took := time.Since(start)
	require.Error(t, err)
	assert.True(t, IsTimeout(err), "want a timeout, got %v", err)
	assert.Equal(t, int32(1), slow.Load(), "the slow request reached the app more than once")
	assert.Less(t, took, timeout+timeout*2/3, "the client waited past the timeout")
}

// An upstream that answers within the timeout is waited for on a pooled
// connection as on a fresh one: the timeout counts from the request, not
// from the connection's previous one (--gateway-upstream-timeout: "how long
// the app may take to start answering a request").
func TestAPooledConnectionGivesTheWholeTimeout(t *testing.T) {
	const timeout = 1 * time.Second
	f, slow := pooledSlowForwarder(t, timeout, timeout*7/10)
	time.Sleep(timeout * 4 / 10)

	rec := httptest.NewRecorder()
	require.NoError(t, f.Serve(rec, httptest.NewRequest("GET", "/slow", nil), "", nil), "answered within the timeout")
	assert.Equal(t, "ok", rec.Body.String())
	assert.Equal(t, int32(1), slow.Load(), "asked once")
}
