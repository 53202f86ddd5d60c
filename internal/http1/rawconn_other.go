//go:build !linux

package http1

import "net"

// Raw returns c: raw system calls are used on Linux only.
func Raw(c net.Conn) net.Conn { return c }

// rawUpstream returns c: raw system calls are used on Linux only.
func rawUpstream(c net.Conn) net.Conn { return c }
