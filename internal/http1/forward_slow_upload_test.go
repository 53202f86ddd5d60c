package http1

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// trickle is a client's body that comes in pieces, gap apart, and ends
// end after the last.
type trickle struct {
	pieces   []string
	gap, end time.Duration
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.pieces) == 0 {
		time.Sleep(t.end)
		return 0, io.EOF
	}
	time.Sleep(t.gap)
	n := copy(p, t.pieces[0])
	if t.pieces[0] = t.pieces[0][n:]; t.pieces[0] == "" {
		t.pieces = t.pieces[1:]
	}
	return n, nil
}

// trickleRequest is a POST whose body comes in pieces of size bytes, gap
// apart, and ends end after the last: chunked, or with its Content-Length.
func trickleRequest(pieces, size int, gap, end time.Duration, chunked bool) (*http.Request, string) {
	t := &trickle{gap: gap, end: end}
	for i := range pieces {
		t.pieces = append(t.pieces, strings.Repeat(string(rune('a'+i%26)), size))
	}
	whole := strings.Join(t.pieces, "")
	r := httptest.NewRequest(http.MethodPost, "/upload", nil)
	r.Body, r.ContentLength = io.NopCloser(t), int64(len(whole))
	if chunked {
		r.ContentLength = -1
	}
	return r, whole
}

// echoUpstream answers each request with its body, once read whole.
func echoUpstream(t *testing.T, timeout time.Duration) *Forwarder {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return NewForwarder(ForwarderConfig{Addr: s.Listener.Addr().String(), Host: "app", Timeout: timeout, Idle: 4})
}

// nginx reads a request's body before its upstream timers start: a client
// that takes longer to upload than the upstream timeout (250 ms here) is
// not the upstream's fault. The upload (600 ms) is not cut, whether its
// pieces stay in the forwarder's buffer until the end (small ones) or go
// out as it fills (5000 bytes each), chunked or with a Content-Length,
// with the defaults or with the timeouts policy's options.
func TestServeSlowUploadOutlastsTheUpstreamTimeout(t *testing.T) {
	f := echoUpstream(t, 250*time.Millisecond)
	for _, tc := range []struct {
		name string
		size int
		o    Options
	}{
		{"small pieces", 10, Options{}},
		{"pieces that fill the buffer", 5000, Options{}},
		{"read and send timeouts", 5000, Options{Read: 250 * time.Millisecond, Send: 250 * time.Millisecond}},
		{"a connect timeout alone", 10, Options{Connect: time.Second}},
	} {
		for _, chunked := range []bool{false, true} {
			r, whole := trickleRequest(6, tc.size, 100*time.Millisecond, 0, chunked)
			w := httptest.NewRecorder()
			require.NoError(t, f.ServeWith(w, r, "", nil, tc.o), "%s, chunked %v", tc.name, chunked)
			assert.Equal(t, http.StatusOK, w.Code, "%s, chunked %v", tc.name, chunked)
			assert.Equal(t, whole, w.Body.String(), "%s, chunked %v", tc.name, chunked)
		}
	}
}

// A chunked body's end (its last chunk) may come long after its last
// bytes: that last write is bounded on its own too, streamed
// (request_unbuffered) or not.
func TestServeUploadWhoseEndComesLate(t *testing.T) {
	f := echoUpstream(t, 300*time.Millisecond)
	for _, o := range []Options{{}, {Send: 200 * time.Millisecond}, {Send: 200 * time.Millisecond, Unbuffered: true}} {
		r, whole := trickleRequest(2, 5000, 50*time.Millisecond, 500*time.Millisecond, true)
		w := httptest.NewRecorder()
		require.NoError(t, f.ServeWith(w, r, "", nil, o), "%+v", o)
		assert.Equal(t, whole, w.Body.String(), "%+v", o)
	}
}

// silentUpstream reads each request's head and body (Content-Length) and
// never answers.
func silentUpstream(t *testing.T, timeout time.Duration) *Forwarder {
	addr := testenv.ServeTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	return NewForwarder(ForwarderConfig{Addr: addr, Host: "app", Timeout: timeout, Idle: 4})
}

// The wait for the answer counts from the request sent, as nginx's
// proxy_read_timeout does: an upstream that does not answer a slow upload
// is still a timeout (504 at the gateway), given between half the timeout
// and all of it after the last byte (the default's deadline moves only
// when less than half of it is left), or the read timeout exactly.
func TestServeSlowUploadWaitForTheAnswerCountsFromTheBodySent(t *testing.T) {
	const timeout = 400 * time.Millisecond
	f := silentUpstream(t, timeout)
	for _, o := range []Options{{}, {Read: timeout}} {
		r, _ := trickleRequest(4, 10, 150*time.Millisecond, 0, false) // 600 ms
		start := time.Now()
		err := f.ServeWith(httptest.NewRecorder(), r, "", nil, o)
		took := time.Since(start)
		require.Error(t, err, "%+v", o)
		assert.True(t, IsTimeout(err), "%+v: %v", o, err)
		assert.GreaterOrEqual(t, took, 600*time.Millisecond+timeout/2, "%+v", o)
		assert.Less(t, took, 600*time.Millisecond+timeout+time.Second, "%+v", o)
	}
}

// stuckUpstream accepts connections and never reads them.
func stuckUpstream(t *testing.T, timeout time.Duration) *Forwarder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return NewForwarder(ForwarderConfig{Addr: ln.Addr().String(), Host: "app", Timeout: timeout, Idle: 4})
}

// endless is a client's body that never ends, as fast as it is read.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// Writes to the upstream stay bounded one by one: an upstream that stops
// reading an upload is a timeout once the socket's buffers are full,
// within the send timeout, or the upstream timeout by default.
func TestServeUploadToAStuckUpstreamTimesOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := stuckUpstream(t, timeout)
	for _, o := range []Options{{}, {Send: timeout}, {Send: timeout, Unbuffered: true}} {
		r := httptest.NewRequest(http.MethodPost, "/upload", nil)
		r.Body, r.ContentLength = io.NopCloser(endless{}), -1
		start := time.Now()
		err := f.ServeWith(httptest.NewRecorder(), r, "", nil, o)
		require.Error(t, err, "%+v", o)
		assert.True(t, IsTimeout(err), "%+v: %v", o, err)
		assert.Less(t, time.Since(start), timeout+2*time.Second, "%+v", o)
	}
}
