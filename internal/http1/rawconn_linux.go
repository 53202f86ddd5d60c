package http1

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// rawConn reads and writes a TCP connection with raw system calls, through
// the netpoller as net.TCPConn does (it waits there on EAGAIN, with the
// connection's deadlines), but without the scheduler's entersyscall and
// exitsyscall around each call. The net package's sockets are always
// non-blocking, so a call never waits in the kernel: the bookkeeping, which
// lets another thread take the P of a call that may block, buys these
// nothing. Under load it costs more than itself: the runtime's monitor
// thread, seeing a P in a system call on two of its ticks, hands the P to
// another thread (a futex wake, a context switch) and keeps ticking every
// 20 µs; perf put a tenth of a loaded gateway's CPU in that monitor, and
// raw calls took the gateway's nanosleeps from 0.23 to 0.02 a request and
// its context switches from 0.57 to 0.38 (nginx: 0.34; BENCHMARKS.md).
// Everything else (deadlines, addresses, io.ReaderFrom) is the TCPConn's
// own, and so is Close but for CapListener's hook.
type rawConn struct {
	*net.TCPConn
	rc syscall.RawConn

	rmu, wmu sync.Mutex // a Conn's methods may be called concurrently

	// The closures and their operands are allocated once per connection:
	// a closure built per call would escape to the heap.
	rbuf    []byte
	rn      int
	rerr    syscall.Errno
	readFn  func(uintptr) bool
	wbuf    []byte
	wn      int
	werr    syscall.Errno
	writeFn func(uintptr) bool
	awaitFn func(uintptr) bool
	written bool // WriteAwait's write is done: the next call is readiness

	loopFn func(uintptr) bool // ReadLoop's, with its step and the fd it reads now
	step   func(read func([]byte) (int, error)) bool
	loopFd uintptr
	nowFn  func([]byte) (int, error)

	peekFn  func(uintptr) // Readable's, with what it found
	peekBuf [1]byte
	peekN   int
	peekErr syscall.Errno

	closed atomic.Pointer[func()] // run once at the first Close (CapListener)

	send sendTimer // a client connection's send timeout (rawconn_send.go)
}

func (r *rawConn) setOnClose(fn func()) { r.closed.Store(&fn) }

// Close closes the connection and runs the hook set by setOnClose, once.
func (r *rawConn) Close() error {
	err := r.TCPConn.Close()
	if fn := r.closed.Swap(nil); fn != nil {
		(*fn)()
	}
	return err
}

// maxRW is the most a read or write asks for at once, as internal/poll:
// some kernels fail larger stream reads and writes.
const maxRW = 1 << 30

// Raw returns c reading and writing with raw system calls when it is a TCP
// connection on Linux; c otherwise. It is for a client's connection: a
// write that waits for the client to read more is bounded by sendTimeout.
func Raw(c net.Conn) net.Conn { return newRaw(c, sendTimeout) }

// rawUpstream is Raw for a connection to an upstream, whose writes the
// Forwarder bounds itself.
func rawUpstream(c net.Conn) net.Conn { return newRaw(c, 0) }

func newRaw(c net.Conn, send time.Duration) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	r := &rawConn{TCPConn: tc, rc: rc, send: sendTimer{timeout: send}}
	r.readFn = r.read
	r.writeFn = r.write
	r.awaitFn = r.await
	r.loopFn = r.loop
	r.nowFn = r.readNow
	r.peekFn = r.peek
	return r
}

func (r *rawConn) read(fd uintptr) bool {
	for {
		n, e := rawRead(fd, r.rbuf)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait in the netpoller, then try again
		}
		r.rn, r.rerr = n, e
		return true
	}
}

func (r *rawConn) write(fd uintptr) bool {
	for r.wn < len(r.wbuf) {
		p := r.wbuf[r.wn:]
		if len(p) > maxRW {
			p = p[:maxRW]
		}
		n, e := rawWrite(fd, p)
		switch e {
		case 0:
			r.wn += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			r.armSend() // the netpoller waits for room next
			return false
		default:
			r.werr = e
			return true
		}
	}
	return true
}

func (r *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.rbuf, r.rn, r.rerr = p, 0, 0
	err := r.rc.Read(r.readFn)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, r.opError("read", err)
	case r.rerr != 0:
		return 0, r.opError("read", os.NewSyscallError("read", r.rerr))
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

func (r *rawConn) Write(p []byte) (int, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.wbuf, r.wn, r.werr = p, 0, 0
	err := r.rc.Write(r.writeFn)
	n := r.wn
	r.wbuf = nil
	if r.send.armed {
		r.disarmSend()
	}
	switch {
	case err != nil:
		return n, r.opError("write", err)
	case r.werr != 0:
		return n, r.opError("write", os.NewSyscallError("write", r.werr))
	}
	return n, nil
}

// await writes wbuf, then asks to wait for something to read; called again
// once there is, it is done. A write that finds the socket full stops it
// early (wn < len(wbuf)): the rest is for Write, which waits for room.
func (r *rawConn) await(fd uintptr) bool {
	if r.written {
		return true
	}
	if !r.write(fd) || r.werr != 0 {
		return true
	}
	r.written = true
	return false
}

// WriteAwait writes p, then waits until the connection has something to
// read (an answer, an error, the end) or its read deadline passes. The
// read that follows then finds what it waits for at once: a Read right
// after a Write would first try and find nothing (EAGAIN), because the
// netpoller forgets readiness seen before a read starts; a request's
// answer cannot have come before the request, so here the readiness is
// armed before the write and nothing is lost. A wait that fails is not
// an error of the write: the Read that follows fails the same way.
//
// It must not be used where the peer may have sent something before p is
// written and not yet been read: that readiness is forgotten and the wait
// lasts until the peer sends more (see awaitIdle and upstreamConn.flush).
func (r *rawConn) WriteAwait(p []byte) (int, error) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.wbuf, r.wn, r.werr, r.written = p, 0, 0, false
	var err error
	if r.rc.Read(r.awaitFn); !r.written && r.werr == 0 {
		// The socket was full, or the wait could not start (a read
		// deadline passed): the rest is written as Write does.
		err = r.rc.Write(r.writeFn)
	}
	n := r.wn
	r.wbuf = nil
	if r.send.armed {
		r.disarmSend()
	}
	switch {
	case r.werr != 0:
		return n, r.opError("write", os.NewSyscallError("write", r.werr))
	case err != nil:
		return n, r.opError("write", err)
	}
	return n, nil
}

// Readable reports, without waiting, whether the connection has anything
// to read: bytes, its end, or an error. It reads nothing (a peek), and
// ignores the deadlines.
func (r *rawConn) Readable() bool {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.peekN, r.peekErr = 0, 0
	if err := r.rc.Control(r.peekFn); err != nil {
		return true // closed: as good as its end
	}
	return r.peekErr != syscall.EAGAIN
}

func (r *rawConn) peek(fd uintptr) {
	for {
		r.peekN, r.peekErr = rawPeek(fd, r.peekBuf[:])
		if r.peekErr != syscall.EINTR {
			return
		}
	}
}

// ReadLoop calls step until it returns true, and while it returns false
// waits until the connection has something to read (or the read deadline
// passes, or it is closed: that error is returned). step is given read,
// which reads at once and never waits: where Read would wait it returns
// errWouldBlock.
//
// All of it is one wait in the netpoller, which remembers readiness seen
// since the wait began: a step that read everything there was (a short
// read), served it and returns false is woken by what came after, however
// early it came, and no read is tried to find it. Read, which forgets the
// readiness seen before it starts, must try a read first, and between a
// client's requests that read finds nothing: nginx reads on readiness
// edges alone, and so does a lean connection in this loop.
//
// Close waits until ReadLoop returns; SetReadDeadline ends its wait, and
// Write may be called from step. Read must not be called from step.
func (r *rawConn) ReadLoop(step func(read func([]byte) (int, error)) bool) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.step = step
	err := r.rc.Read(r.loopFn)
	r.step = nil
	if err != nil {
		return r.opError("read", err)
	}
	return nil
}

func (r *rawConn) loop(fd uintptr) bool {
	r.loopFd = fd
	return r.step(r.nowFn)
}

// readNow is ReadLoop's read.
func (r *rawConn) readNow(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	for {
		n, e := rawRead(r.loopFd, p)
		switch e {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, errWouldBlock
		}
		return 0, r.opError("read", os.NewSyscallError("read", e))
	}
}

// opError wraps err as net.TCPConn's Read and Write do, so that callers
// testing for timeouts or closed connections see what they expect.
func (r *rawConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: r.LocalAddr(), Addr: r.RemoteAddr(), Err: err}
}
