package http1

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair is a loopback TCP connection: the dialled end, wrapped by Raw,
// and the accepted end as it is.
func tcpPair(t testing.TB) (*rawConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	peer, err := ln.Accept()
	require.NoError(t, err)
	r, ok := Raw(c).(*rawConn)
	require.True(t, ok, "Raw of a TCP connection is a raw connection")
	t.Cleanup(func() { r.Close(); peer.Close() })
	return r, peer
}

func TestRawLeavesOtherConnectionsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Equal(t, a, Raw(a))
}

// writeMoreThanTheSocketHolds writes 16 MiB with write while peer reads it,
// late: the writer meets EAGAIN and must wait in the netpoller for room,
// and resume where it stopped. It returns what was written.
func writeMoreThanTheSocketHolds(t *testing.T, peer net.Conn, write func([]byte) (int, error)) []byte {
	t.Helper()
	out := make([]byte, 16<<20)
	_, _ = rand.Read(out)
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // let the writer fill the buffers first
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(out))))
		got <- b
	}()
	n, err := write(out)
	require.NoError(t, err)
	assert.Equal(t, len(out), n)
	assert.True(t, bytes.Equal(out, <-got), "the peer read what was written")
	return out
}

// More than the socket buffers hold, both ways.
func TestRawConnCarriesEveryByteBothWays(t *testing.T) {
	r, peer := tcpPair(t)
	out := writeMoreThanTheSocketHolds(t, peer, r.Write)

	go func() {
		_, _ = peer.Write(out)
		peer.Close()
	}()
	in, err := io.ReadAll(r)
	require.NoError(t, err, "a read after the peer closed is io.EOF, which ReadAll ends on")
	assert.True(t, bytes.Equal(out, in), "the raw side read what the peer wrote")

	n, err := r.Read(make([]byte, 10))
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)
}

func TestRawConnReadHonoursTheDeadline(t *testing.T) {
	r, _ := tcpPair(t)
	require.NoError(t, r.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	start := time.Now()
	_, err := r.Read(make([]byte, 10))
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "a net.Error reporting a timeout, as net.TCPConn's")
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "read", op.Op)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestRawConnReadEndsWhenClosed(t *testing.T) {
	r, _ := tcpPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // waiting in the netpoller
	require.NoError(t, r.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("a read waiting on a closed connection did not return")
	}
	_, err := r.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
}

// A write to a peer that reset the connection fails with the system's
// error, wrapped as net.TCPConn wraps it.
func TestRawConnWriteToAResetPeerFails(t *testing.T) {
	r, peer := tcpPair(t)
	require.NoError(t, peer.(*net.TCPConn).SetLinger(0))
	require.NoError(t, peer.Close()) // RST
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = r.Write([]byte("after the reset"))
		time.Sleep(time.Millisecond)
	}
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE), "got %v", err)
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "write", op.Op)
}

// A read and a write at once, as a proxy's two directions do.
func TestRawConnReadsWhileItWrites(t *testing.T) {
	r, peer := tcpPair(t)
	go func() { _, _ = io.Copy(peer, peer) }() // echo
	out := make([]byte, 8<<20)
	_, _ = rand.Read(out)
	errc := make(chan error, 1)
	go func() {
		_, err := r.Write(out)
		errc <- err
	}()
	in := make([]byte, len(out))
	_, err := io.ReadFull(r, in)
	require.NoError(t, err)
	require.NoError(t, <-errc)
	assert.True(t, bytes.Equal(out, in))
}

// BenchmarkConnRoundTrip is one small write and the read of its echo,
// ping-pong over 32 loopback connections at once (a gateway's load:
// many goroutines each in a short system call or parked in the
// netpoller), through net.TCPConn and through Raw.
func BenchmarkConnRoundTrip(b *testing.B) {
	for _, name := range []string{"raw", "baseline=net.TCPConn"} {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(16) // 32 connections on 2 CPUs
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r, peer := tcpPair(b)
				var c net.Conn = r
				if name != "raw" {
					c = r.TCPConn
				}
				go func() { _, _ = io.Copy(peer, peer) }()
				msg, buf := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), make([]byte, 64)
				for pb.Next() {
					if _, err := c.Write(msg); err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// tryRead reads once, without waiting: EAGAIN when nothing has come.
func tryRead(t *testing.T, r *rawConn, p []byte) (int, syscall.Errno) {
	t.Helper()
	var (
		n int
		e syscall.Errno
	)
	require.NoError(t, r.rc.Read(func(fd uintptr) bool { n, e = rawRead(fd, p); return true }))
	return n, e
}

// WriteAwait returns once the answer is there to read, so that the read
// after it finds it at once; a Write returns before it has come.
func TestWriteAwaitReturnsWhenTheAnswerHasCome(t *testing.T) {
	r, peer := tcpPair(t)
	answer := func() {
		buf := make([]byte, 5)
		_, _ = io.ReadFull(peer, buf)
		time.Sleep(30 * time.Millisecond)
		_, _ = peer.Write(append(buf, '!'))
	}
	buf := make([]byte, 16)

	go answer()
	n, err := r.Write([]byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	_, e := tryRead(t, r, buf)
	assert.Equal(t, syscall.EAGAIN, e, "after Write, nothing to read yet")
	got, err := r.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "hello!", string(buf[:got]))

	go answer()
	n, err = r.WriteAwait([]byte("again"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	got, e = tryRead(t, r, buf)
	require.Equal(t, syscall.Errno(0), e, "after WriteAwait, the answer is there")
	assert.Equal(t, "again!", string(buf[:got]))
}

// A wait that ends on the read deadline is not the write's failure: the
// whole request went out, and the read after it reports the timeout.
func TestWriteAwaitLeavesTheTimeoutToTheRead(t *testing.T) {
	r, peer := tcpPair(t)
	require.NoError(t, r.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
	n, err := r.WriteAwait([]byte("ping"))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	_, err = r.Read(make([]byte, 4))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	got := make([]byte, 4)
	_, err = io.ReadFull(peer, got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))

	// A read deadline already passed does not keep the request from going.
	n, err = r.WriteAwait([]byte("pong"))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	_, err = io.ReadFull(peer, got)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(got))
}

// More than the socket holds: WriteAwait writes the rest as Write does,
// waiting for room, and does not wait for an answer.
func TestWriteAwaitOfMoreThanTheSocketHolds(t *testing.T) {
	r, peer := tcpPair(t)
	writeMoreThanTheSocketHolds(t, peer, r.WriteAwait)
}

// A peer that closed while the connection was idle: the write draws a
// reset, which ends the wait, and the read after it fails at once.
func TestWriteAwaitOnAConnectionThePeerClosed(t *testing.T) {
	r, peer := tcpPair(t)
	require.NoError(t, peer.Close())
	time.Sleep(10 * time.Millisecond) // the FIN is in before the write
	require.NoError(t, r.SetReadDeadline(time.Now().Add(10*time.Second)))
	start := time.Now()
	_, werr := r.WriteAwait([]byte("GET / HTTP/1.1\r\n\r\n"))
	_, rerr := r.Read(make([]byte, 16))
	assert.True(t, werr != nil || rerr != nil, "the write or the read fails")
	assert.Less(t, time.Since(start), 5*time.Second, "the reset ends the wait, not the deadline")
}
