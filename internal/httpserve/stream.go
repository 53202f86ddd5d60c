package httpserve

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// streamSendDeadline bounds each write of an HTTP/2 answer by timeout, as
// sendConn bounds each write of an HTTP/1 connection. An HTTP/2 client can
// keep reading its connection and yet take nothing of one answer (it opens
// no flow-control window for the stream): no connection write then waits,
// so sendConn's deadline never applies, and the handler's write would wait
// forever. Each write is given its own stream deadline instead, lifted once
// it returns, so that a long poll or an event stream, which writes nothing
// while it waits, is not cut; and what the handler left buffered is given
// one when it returns. HTTP/1 requests go through as they are.
func streamSendDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wd, ok := w.(streamWriter)
		if r.ProtoMajor != 2 || !ok {
			next.ServeHTTP(w, r)
			return
		}
		s := &streamSender{ResponseWriter: w, w: wd, timeout: timeout}
		next.ServeHTTP(s, r)
		// net/http flushes the rest of the answer after the handler: bound
		// it too (the stream ends with it, and its deadline with it). A
		// head alone is not held back by flow control.
		if s.buffered > 0 {
			s.arm()
		}
	})
}

// h2WriteBuffer is what HTTP/2's ResponseWriter holds of an answer before
// it sends any (net/http's handlerChunkWriteSize, 4 KiB): a write that
// fits in it copies and cannot wait for the client, so it needs no
// deadline. Most answers (a heartbeat's reply) then take one deadline, at
// the end, instead of two a write: each is a message to the connection's
// goroutine and a timer.
const h2WriteBuffer = 4 << 10

// streamWriter is what HTTP/2's ResponseWriter offers of deadlines and
// flushing.
type streamWriter interface {
	http.ResponseWriter
	SetWriteDeadline(time.Time) error
	FlushError() error
}

// streamSender gives each write of an HTTP/2 answer its send deadline, or
// the write deadline the handler set (through http.ResponseController)
// when that comes first, and restores the handler's deadline after it.
type streamSender struct {
	http.ResponseWriter
	w       streamWriter
	timeout time.Duration
	set     atomic.Int64 // the handler's write deadline, in Unix nanoseconds; 0: none
	// buffered counts the bytes written since the last flush, at most
	// h2WriteBuffer: past it what HTTP/2 holds is not known, and every
	// write until a flush is given its deadline.
	buffered int
}

func (s *streamSender) Write(p []byte) (int, error) {
	if s.buffered+len(p) < h2WriteBuffer {
		s.buffered += len(p)
		return s.w.Write(p)
	}
	s.buffered = h2WriteBuffer
	n := 0
	defer s.disarm()
	for len(p) > 0 {
		chunk := p[:min(len(p), sendChunk)]
		s.arm()
		m, err := s.w.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// WriteString keeps HTTP/2's string writes free of a copy for short strings.
func (s *streamSender) WriteString(str string) (int, error) {
	if s.buffered+len(str) < h2WriteBuffer {
		s.buffered += len(str)
		return io.WriteString(s.w, str)
	}
	if len(str) > sendChunk {
		return s.Write([]byte(str))
	}
	s.buffered = h2WriteBuffer
	s.arm()
	defer s.disarm()
	return io.WriteString(s.w, str)
}

// FlushError sends what is buffered, within the send deadline.
func (s *streamSender) FlushError() error {
	s.arm()
	defer s.disarm()
	s.buffered = 0
	return s.w.FlushError()
}

// Flush is http.Flusher's FlushError.
func (s *streamSender) Flush() { _ = s.FlushError() }

// SetWriteDeadline is the handler's own write deadline (an event stream's,
// say): kept, and applied at once.
func (s *streamSender) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		s.set.Store(0)
	} else {
		s.set.Store(t.UnixNano())
	}
	return s.w.SetWriteDeadline(t)
}

// Unwrap lets http.ResponseController reach the rest of HTTP/2's writer.
func (s *streamSender) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// arm sets the deadline of the next write.
func (s *streamSender) arm() {
	d := time.Now().Add(s.timeout)
	if set := s.set.Load(); set != 0 && set < d.UnixNano() {
		d = time.Unix(0, set)
	}
	_ = s.w.SetWriteDeadline(d)
}

// disarm restores the handler's deadline, none unless it set one. One
// already past was the armed one, and has applied.
func (s *streamSender) disarm() {
	var t time.Time
	if set := s.set.Load(); set != 0 {
		if t = time.Unix(0, set); !t.After(time.Now()) {
			return
		}
	}
	_ = s.w.SetWriteDeadline(t)
}
