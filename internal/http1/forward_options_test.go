package http1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func optionsUpstream(t *testing.T, h http.HandlerFunc) *Forwarder {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return NewForwarder(ForwarderConfig{Addr: s.Listener.Addr().String(), Host: "app", Timeout: 5 * time.Second, Idle: 4})
}

// RetryStatuses retries those answers of a replayable request, up to
// Retries more times; the last answer is relayed whatever it is.
func TestServeWithRetryStatuses(t *testing.T) {
	var n atomic.Int32
	f := optionsUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	w := httptest.NewRecorder()
	require.NoError(t, f.ServeWith(w, httptest.NewRequest("GET", "/", nil), "", nil, Options{Retries: 2, RetryStatuses: []int{503}}))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, int32(3), n.Load())

	n.Store(0)
	w = httptest.NewRecorder()
	require.NoError(t, f.ServeWith(w, httptest.NewRequest("GET", "/", nil), "", nil, Options{Retries: 1, RetryStatuses: []int{503}}))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, int32(2), n.Load())

	n.Store(0)
	w = httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader("body"))
	require.NoError(t, f.ServeWith(w, r, "", nil, Options{Retries: 3, RetryStatuses: []int{503}}))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "a body already sent is not replayed")
	assert.Equal(t, int32(1), n.Load())
}

// Read bounds the wait for the head: a timeout IsTimeout reports; the
// connection is left to the defaults after a custom exchange.
func TestServeWithReadTimeout(t *testing.T) {
	f := optionsUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(500 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "ok")
	})
	w := httptest.NewRecorder()
	require.NoError(t, f.ServeWith(w, httptest.NewRequest("GET", "/", nil), "", nil, Options{Read: 100 * time.Millisecond}))
	assert.Equal(t, "ok", w.Body.String())
	err := f.ServeWith(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil), "", nil, Options{Read: 100 * time.Millisecond})
	require.Error(t, err)
	assert.True(t, IsTimeout(err), "%v", err)
	w = httptest.NewRecorder()
	require.NoError(t, f.Serve(w, httptest.NewRequest("GET", "/slow", nil), "", nil), "the default timeout (5 s) again")
	assert.Equal(t, "ok", w.Body.String())
}
