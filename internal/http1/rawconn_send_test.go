//go:build linux

package http1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// A write to a client that does not read fails once it has waited for room
// for the send timeout, and a write that waited and went through leaves no
// deadline behind: a later write succeeds however long after it comes.
func TestRawConnSendTimeoutBoundsAWriteThatWaits(t *testing.T) {
	r, peer := tcpPair(t)
	r.send.timeout = 500 * time.Millisecond

	writeMoreThanTheSocketHolds(t, peer, r.Write) // waited, and went through
	time.Sleep(2 * r.send.timeout)
	_, err := r.Write([]byte("later"))
	require.NoError(t, err, "the send deadline of an earlier write was left set")

	r.send.timeout = 100 * time.Millisecond
	require.ErrorIs(t, writeUntilStuck(r), os.ErrDeadlineExceeded)
}

// The write deadline the connection's user sets stays as set: the send
// timeout neither clears nor moves it.
func TestRawConnSendTimeoutKeepsTheUsersDeadline(t *testing.T) {
	r, peer := tcpPair(t)
	r.send.timeout = time.Hour
	require.NoError(t, r.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	require.ErrorIs(t, writeUntilStuck(r), os.ErrDeadlineExceeded, "the user's deadline bounds the write")
	_ = peer
}

// writeUntilStuck writes to r, whose peer reads nothing, until a write
// fails (at most 1 GiB: the sockets hold far less).
func writeUntilStuck(r *rawConn) error {
	p := make([]byte, 1<<20)
	for range 1 << 10 {
		if _, err := r.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// shortSend accepts connections with a short send timeout.
type shortSend struct{ net.Listener }

func (l shortSend) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newRaw(c, 100*time.Millisecond), nil
}

// A client that stops reading a large answer does not hold the handler: its
// writes fail after the send timeout, and the connection is closed.
func TestServerSendTimeoutFreesTheHandlerOfAClientThatStopsReading(t *testing.T) {
	failed := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 1 << 10 { // 64 MiB, far more than the sockets hold
			if _, err := w.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
		failed <- nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(h, zerolog.Nop())
	go func() { _ = s.Serve(shortSend{ln}) }()
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })

	c := dialWire(t, ln.Addr().String())
	c.send("GET /large HTTP/1.1\r\nHost: x\r\n\r\n") // and reads nothing
	select {
	case err := <-failed:
		require.Error(t, err, "the whole answer was written to a client that reads nothing")
	case <-time.After(5 * time.Second):
		t.Fatal("the handler still waits on a client that reads nothing")
	}
	// Its connection is closed: what the client reads ends.
	_, err = io.Copy(io.Discard, bufio.NewReader(c.c))
	if err != nil {
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection was left open: %v", err)
	}
}
