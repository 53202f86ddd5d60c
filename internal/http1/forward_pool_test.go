package http1

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func poolConn(t *testing.T, used time.Time) (*upstreamConn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &upstreamConn{c: a, used: used}, b
}

// isClosed reports whether the pipe end's peer was closed.
func isClosed(peer net.Conn) bool {
	_ = peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := peer.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

// The most recently put connection is taken first; a full pool closes what
// it is given; the least recently used is closed once idle maxIdleAge.
func TestUpstreamPoolTakesTheMostRecentFirst(t *testing.T) {
	now := time.Now()
	p := upstreamPool{max: 2}
	a, _ := poolConn(t, now)
	b, _ := poolConn(t, now.Add(time.Millisecond))
	c, cPeer := poolConn(t, now.Add(2*time.Millisecond))
	p.put(a)
	p.put(b)
	p.put(c)
	assert.True(t, isClosed(cPeer), "the pool was full")
	assert.Same(t, b, p.take())
	assert.Same(t, a, p.take())
	assert.Nil(t, p.take())

	old, oldPeer := poolConn(t, now)
	p.put(old)
	fresh, _ := poolConn(t, now.Add(maxIdleAge))
	p.put(fresh)
	assert.True(t, isClosed(oldPeer), "idle maxIdleAge: closed")
	require.Same(t, fresh, p.take())
	assert.Nil(t, p.take())
}
