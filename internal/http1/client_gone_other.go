//go:build !linux

package http1

import "net"

// clientGone reports false: the socket's state is looked at on Linux only.
func clientGone(c net.Conn) bool { return false }
