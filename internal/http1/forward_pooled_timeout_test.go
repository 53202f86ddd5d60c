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

// An upstream that answers within the timeout is waited for on a pooled
// connection as on a fresh one: the timeout counts from the request, not
// from the connection's previous one (--gateway-upstream-timeout: "how long
// the app may take to start answering a request").
func TestAPooledConnectionGivesTheWholeTimeout(t *testing.T) {
	const timeout = 1 * time.Second
	var slow atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slow.Add(1)
			time.Sleep(timeout * 7 / 10)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	f := NewForwarder(ForwarderConfig{Addr: s.Listener.Addr().String(), Host: "app", Timeout: timeout, Idle: 4})
	require.NoError(t, f.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "", nil), "pools a connection")
	time.Sleep(timeout * 4 / 10)

	rec := httptest.NewRecorder()
	require.NoError(t, f.Serve(rec, httptest.NewRequest("GET", "/slow", nil), "", nil), "answered within the timeout")
	assert.Equal(t, "ok", rec.Body.String())
	assert.Equal(t, int32(1), slow.Load(), "asked once")
}
