package gossip

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"
)

// withStreamTimeout has memberlist hold a silent stream for d before it
// gives up on it (2 s in these tests otherwise).
func withStreamTimeout(d time.Duration) opt {
	return func(c *Config) {
		prev := c.tune
		c.tune = func(mc *memberlist.Config) {
			prev(mc)
			mc.TCPTimeout = d
		}
	}
}

// dialFrom opens a TCP connection to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err, "dial %s from %s", addr, from)
	t.Cleanup(func() { c.Close() })
	return c
}

// held reports whether the node still holds c open (a read waits) rather
// than having closed it at once.
func held(t *testing.T, c net.Conn) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// closedAtOnce requires that the node closes c without waiting.
func closedAtOnce(t *testing.T, c net.Conn, what string) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "%s: want it closed at once, it was held", what)
	require.Error(t, err, "%s: want it closed, it sent something", what)
}

// Connections to the gossip port past maxStreamsPerAddr from one address,
// or past maxStreams in all, are closed as soon as they are accepted, while
// those within are served as before; one closed makes room for another; and
// an outsider holding its address's share keeps no member from joining.
// Without the bound memberlist serves every connection on a goroutine of
// its own for its TCPTimeout, whoever opens them.
func TestInboundStreamsAreBounded(t *testing.T) {
	n := startNode(t, "capped", time.Second, withStreamTimeout(time.Minute))
	addr := n.Addr()

	first := make([]net.Conn, maxStreamsPerAddr)
	for i := range first {
		first[i] = dialFrom(t, "127.0.0.2", addr)
	}
	closedAtOnce(t, dialFrom(t, "127.0.0.2", addr), "one more from the same address")
	for i, c := range first {
		require.True(t, held(t, c), "stream %d of %d from one address: want it served, it was closed", i+1, maxStreamsPerAddr)
	}

	// A member joins from another address while the outsider holds its share.
	other := startNode(t, "member", 5*time.Second, withJoin(addr))
	waitMembers(t, []*tnode{n, other}, 2)

	// One closed makes room for one more from that address.
	first[0].Close()
	require.Eventually(t, func() bool { return held(t, dialFrom(t, "127.0.0.2", addr)) }, 10*time.Second, 50*time.Millisecond,
		"a stream closed by its client should make room for another from its address")

	// Past maxStreams in all, from addresses each within its share (the
	// member gone first: its push/pulls would come and go meanwhile).
	require.NoError(t, other.Shutdown())
	for i := 0; n.cappedOpen() < maxStreams; i++ {
		require.Less(t, i, maxStreams, "the node took more than %d streams", maxStreams)
		dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i/maxStreamsPerAddr), addr)
		n.waitStreams(t, i+1+maxStreamsPerAddr)
	}
	closedAtOnce(t, dialFrom(t, "127.0.2.1", addr), fmt.Sprintf("one more past %d in all, from a new address", maxStreams))
}

// cappedOpen is how many inbound streams the node's bound counts open.
func (t *tnode) cappedOpen() int {
	c := t.streams
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// waitStreams waits until the node counts at least k inbound streams open
// (a stream is counted once the transport hands it on).
func (t *tnode) waitStreams(tb testing.TB, k int) {
	tb.Helper()
	require.Eventually(tb, func() bool { return t.cappedOpen() >= k }, 10*time.Second, 5*time.Millisecond,
		"the node should count %d inbound streams", k)
}
