package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/loopback"
)

// Ports handed to processes come from below the kernel's ephemeral range,
// are never handed out twice while held, and a port another test binary
// holds (its lock file locked) or something else has bound is passed over.
func TestReservedPortsAreDistinctAndOutsideTheEphemeralRange(t *testing.T) {
	hi := loopback.EphemeralLow()
	if hi-lowestPort < 1000 {
		t.Fatalf("this machine's ephemeral range starts at %d: no room below it", hi)
	}
	seen := map[int]bool{}
	for range 50 {
		p := reservePort(t)
		require.GreaterOrEqual(t, p, lowestPort)
		require.Less(t, p, hi, "below the ephemeral range")
		require.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}

	// A held port's lock, tried on another open file description as another
	// process would, is taken; and the chooser passes it over.
	held := reservePort(t)
	f, err := os.OpenFile(filepath.Join(portLockDir(), strconv.Itoa(held)), os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	require.Error(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB), "a held port's lock is taken")
	require.NotEqual(t, held, reservePortFrom(t, held, hi), "a held port is passed over")

	// A port bound by a listener outside the tests is passed over.
	var ln net.Listener
	from := hi - 1
	for ; from > lowestPort; from-- {
		if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(from)); err == nil {
			break
		}
	}
	require.NoError(t, err)
	defer ln.Close()
	require.NotEqual(t, from, reservePortFrom(t, from, hi), "a bound port is passed over")
}
