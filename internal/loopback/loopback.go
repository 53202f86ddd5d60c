// Package loopback tells whether a URL's host is this machine's loopback,
// where plain HTTP is allowed: Portolan sends tokens over HTTPS everywhere
// else (DESIGN: Trust). It also finds free loopback ports for a child
// process to listen on (FreeAddr).
//
// It imports nothing of Portolan.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a URL's Hostname: no port, no brackets) is
// "localhost" or a loopback IP address. Other names are not resolved: a
// name may resolve elsewhere tomorrow.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
