package http1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// bodyTimer bounds the reads of the request bodies net/http's server
// reads for the lean loop (chunked ones, HTTP/1.0's...): it has no such
// bound without a ReadTimeout, which would bound whole requests. The
// deadline is armed at once: before its answer net/http reads what a
// handler left of a body (up to 256 KiB), and closes the connection when
// that fails. An upgrade's connection may outlive the handler: no
// deadline is left on it. The body is in the request's context, for
// BodyTimedOut.
type bodyTimer struct {
	s *Server
	h http.Handler
}

func (t bodyTimer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if t.s.BodyTimeout <= 0 || r.Body == nil || r.Body == http.NoBody {
		t.h.ServeHTTP(w, r)
		return
	}
	b := &timedBody{body: r.Body, rc: http.NewResponseController(w), timeout: t.s.BodyTimeout}
	b.extend(true)
	r = r.WithContext(context.WithValue(r.Context(), timedBodyKey{}, b))
	r.Body = b
	t.h.ServeHTTP(w, r)
	_, upgrade := r.Header["Upgrade"]
	b.handlerDone(!upgrade)
}

type timedBodyKey struct{}

// BodyTimedOut reports whether r's body timed out on net/http's server,
// where the read that timed out also cancelled r's context: a request
// that failed on that context then failed on the client's slowness, not
// on its going away.
func BodyTimedOut(r *http.Request) bool {
	b, _ := r.Context().Value(timedBodyKey{}).(*timedBody)
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err == ErrBodyTimeout
}

// TimeBody bounds each read of body by d through w's read deadline, as
// Server.BodyTimeout bounds the lean loop's, for x/net/http2's server:
// reads fail with ErrBodyTimeout once the client has sent nothing for d.
// The deadline is set by the first read and moved only when less than half
// of d is left; a stream's runs between reads too, so a handler that stops
// reading for more than half of d may find it passed. done is to be called
// once the handler returned: w is not used after (a transport may still
// read the body).
func TimeBody(w http.ResponseWriter, body io.ReadCloser, d time.Duration) (_ io.ReadCloser, done func()) {
	b := &timedBody{body: body, rc: http.NewResponseController(w), timeout: d}
	return b, func() { b.handlerDone(false) }
}

// timedBody is a request body read within its ResponseWriter's read
// deadline (net/http's, x/net/http2's).
type timedBody struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration

	mu       sync.Mutex // a transport's goroutine may read the body while the handler returns
	deadline time.Time  // the read deadline set; zero when none
	err      error      // the client stopped, or no deadline could be set: every read fails
	off      bool       // read to its end, closed, or the handler returned: no deadline moves
}

func (b *timedBody) Read(p []byte) (int, error) {
	if err := b.extend(false); err != nil {
		return 0, err
	}
	n, err := b.body.Read(p)
	if err == nil {
		return n, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		b.err = ErrBodyTimeout
		return n, b.err
	}
	if err == io.EOF {
		// net/http's server reads the connection from now on, which our
		// deadline must not cut.
		b.clear()
	}
	return n, err
}

// extend moves the read deadline to the timeout from now: when less than
// half of it is left, or at once.
func (b *timedBody) extend(now bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := time.Now()
	if b.err != nil || b.off || b.timeout <= 0 || !now && b.deadline.Sub(t) >= b.timeout/2 {
		return b.err
	}
	switch err := b.rc.SetReadDeadline(t.Add(b.timeout)); {
	case errors.Is(err, http.ErrNotSupported):
		b.timeout = 0 // a writer without read deadlines: unbounded, as before
	case err != nil:
		b.err = fmt.Errorf("bound the request body's reads: %w", err)
	default:
		b.deadline = t.Add(b.timeout)
	}
	return b.err
}

// clear removes the deadline for good; b.mu is held.
func (b *timedBody) clear() {
	if !b.off && b.err == nil && !b.deadline.IsZero() {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	b.off = true
}

// Close closes the body, which net/http's does by reading what is left of
// it (up to 256 KiB): within the timeout.
func (b *timedBody) Close() error {
	_ = b.extend(true)
	err := b.body.Close()
	b.mu.Lock()
	b.clear()
	b.mu.Unlock()
	return err
}

// handlerDone stops the use of w; bound: what is left of the body is read
// after, within the timeout from now.
func (b *timedBody) handlerDone(bound bool) {
	if bound {
		_ = b.extend(true)
	}
	b.mu.Lock()
	b.off = true
	b.mu.Unlock()
}
