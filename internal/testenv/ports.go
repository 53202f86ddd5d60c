package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/portolan/portolan/internal/loopback"
)

// A port chosen here is handed to a child process, which binds it a moment
// later. Two things could take it in that moment, and both are ruled out:
//   - the kernel, for an outgoing connection or another ":0" listener: ports
//     are chosen below its ephemeral range, which it never hands out;
//   - another test binary of the same run (go test runs packages side by
//     side) choosing the same port: each choice holds an flock on a file
//     named for the port until its test ends, and a locked port is passed
//     over. The kernel drops the lock when a process dies. The files stay
//     (one per port at most): removing one that another process holds
//     locked would let a third lock a new file of the same name.
const lowestPort = loopback.LowestPort

// reservePort returns a loopback port that is free now, is outside the
// kernel's ephemeral range and is held for t's life.
func reservePort(t testing.TB) int {
	t.Helper()
	hi := loopback.EphemeralLow()
	if hi-lowestPort < 1000 {
		return kernelPort(t) // no room below the range: the old way
	}
	return reservePortFrom(t, lowestPort+rand.IntN(hi-lowestPort), hi)
}

// reservePortFrom is reservePort trying first from, then the ports after
// it, wrapping round below hi.
func reservePortFrom(t testing.TB, from, hi int) int {
	t.Helper()
	dir := portLockDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("port locks: %v", err)
	}
	span := hi - lowestPort
	for i := range span {
		port := lowestPort + (from-lowestPort+i)%span
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatalf("port lock: %v", err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // another test holds it
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			f.Close() // something outside the tests has it
			continue
		}
		ln.Close()
		t.Cleanup(func() { f.Close() })
		return port
	}
	t.Fatalf("no free loopback port in [%d, %d)", lowestPort, hi)
	return 0
}

// portLockDir holds the port lock files, one directory per user (another
// user's would not be writable).
func portLockDir() string {
	return filepath.Join(os.TempDir(), "portolan-test-ports-"+strconv.Itoa(os.Getuid()))
}

// kernelPort is a port the kernel chose and that is free now.
func kernelPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(fmt.Errorf("free port: %w", err))
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
