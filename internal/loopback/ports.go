package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// LowestPort is the first port FreeAddr (and the tests' reservations)
// choose: the ports below it are the usual ones of well-known services.
const LowestPort = 10000

// defaultEphemeralLow is where Linux's ephemeral range starts by default.
const defaultEphemeralLow = 32768

// FreeAddr returns "127.0.0.1:port" for a loopback port that is free now,
// for a child process to bind a moment later. The port is chosen below the
// kernel's ephemeral range: a port the kernel picked (":0") could, in that
// moment, be handed to another ":0" listener or to an outgoing connection
// as its source port, and the child would fail to bind it. Where there is
// no room below the range, the kernel chooses.
func FreeAddr() (string, error) {
	hi := EphemeralLow()
	if span := hi - LowestPort; span >= 1000 {
		from := rand.IntN(span)
		for i := range 100 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(LowestPort+(from+i)%span))
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				return addr, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// EphemeralLow is the first port of the kernel's ephemeral range (Linux's
// default where it cannot be read).
func EphemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultEphemeralLow
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return defaultEphemeralLow
	}
	return n
}
