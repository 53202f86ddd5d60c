//go:build !linux

package http1

import "net"

// clientsWatched: the sockets' state is looked at on Linux only, so no
// watchClients runs.
const clientsWatched = false

// clientGone reports false: the socket's state is looked at on Linux only.
func clientGone(c net.Conn) bool { return false }
