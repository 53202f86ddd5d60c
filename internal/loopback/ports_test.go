package loopback

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// FreeAddr's ports are on loopback, below the kernel's ephemeral range
// (where this machine has room below it), and free: a listener binds each.
func TestFreeAddrIsBelowTheEphemeralRangeAndFree(t *testing.T) {
	hi := EphemeralLow()
	require.GreaterOrEqual(t, hi-LowestPort, 1000, "this machine's ephemeral range leaves no room below it")
	for range 20 {
		addr, err := FreeAddr()
		require.NoError(t, err)
		host, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1", host)
		p, err := strconv.Atoi(port)
		require.NoError(t, err)
		require.GreaterOrEqual(t, p, LowestPort)
		require.Less(t, p, hi, "below the ephemeral range")
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "the port is free")
		ln.Close()
	}
}
