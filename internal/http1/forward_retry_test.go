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

// An upstream that takes longer than the timeout to answer a request sent
// on a pooled connection times out once: the free retry of a pooled
// connection is for one the upstream closed while it was idle, not for a
// slow answer, which would be asked for again (the app does the work
// twice) and waited for up to twice as long, where nginx answers 504 after
// proxy_read_timeout.
func TestSlowAnswerOnAPooledConnectionIsNotAskedTwice(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var slow atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slow.Add(1)
			time.Sleep(3 * timeout)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	f := NewForwarder(ForwarderConfig{Addr: s.Listener.Addr().String(), Host: "app", Timeout: timeout, Idle: 4})
	require.NoError(t, f.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "", nil), "pools a connection")

	start := time.Now()
	err := f.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil), "", nil)
	took := time.Since(start)
	require.Error(t, err)
	assert.True(t, IsTimeout(err), "want a timeout, got %v", err)
	assert.Equal(t, int32(1), slow.Load(), "the slow request reached the app more than once")
	assert.Less(t, took, timeout+timeout*2/3, "the client waited past the timeout")
}
