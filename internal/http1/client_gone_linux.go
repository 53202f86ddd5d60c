package http1

import (
	"net"

	"golang.org/x/sys/unix"
)

// clientsWatched: the lean server looks at its clients' sockets.
const clientsWatched = true

// clientGone reports whether the client of c has sent its end (the socket
// is in CLOSE_WAIT) or reset the connection (CLOSE). Its state, not a peek:
// a pipelined request, or a TLS close_notify, would be what a peek finds
// before the end.
func clientGone(c net.Conn) bool {
	state, ok := tcpState(c)
	return !ok || state == tcpCloseWait || state == tcpClose
}

// tcpState is c's TCP state (TCP_INFO); false when c is closed. A
// connection that is not TCP is told as established.
func tcpState(c net.Conn) (uint8, bool) {
	tc, ok := tcpConn(c)
	if !ok {
		return tcpEstablished, true
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return tcpEstablished, true
	}
	state := uint8(tcpEstablished)
	if err := rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	}); err != nil {
		return 0, false // closed meanwhile
	}
	return state, true
}

// TCP states (include/net/tcp_states.h).
const (
	tcpEstablished = 1
	tcpFinWait2    = 5
	tcpClose       = 7
	tcpCloseWait   = 8
)

// tcpConn is c's TCP connection, under TLS, the raw system calls' wrapper,
// or another wrapper with a NetConn method.
func tcpConn(c net.Conn) (*net.TCPConn, bool) {
	switch v := c.(type) {
	case *net.TCPConn:
		return v, true
	case *rawConn:
		return v.TCPConn, true
	case interface{ NetConn() net.Conn }: // *tls.Conn, and the wrappers that say what they wrap as it does
		return tcpConn(v.NetConn())
	}
	return nil, false
}
